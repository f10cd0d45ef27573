/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/*
 * store-bench: certificate key generation per key type, and the import of key + chain into
 * a fresh NSS database, each beside a peer run in the same invocation:
 *   - keys: me_key_generate() in process against `openssl genpkey` (whose figure includes
 *     starting a process; the `openssl version` row is that floor)
 *   - import: me_nssdb_import() (NSS init + import + shutdown, in process) against
 *     `pk12util -i` of the same key and chain (an OpenSSL-made PKCS#12 with the default
 *     2048 PBKDF2 iterations), both into a database made beforehand by `certutil -N`
 *
 *   store-bench [--runs N]
 *
 * Prints a Markdown table of medians, minimums and maximums in milliseconds.
 */

#define G_LOG_DOMAIN "MeStoreBench"

#include "config.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <openssl/pem.h>
#include <string.h>

#include "autocleanups.h"
#include "keys.h"
#include "nssdb.h"
#include "test-util.h"

typedef struct {
	gchar *label;
	GArray *ms; /* gdouble */
} Row;

static gint
cmp_double(gconstpointer a, gconstpointer b)
{
	gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

static gdouble
median(GArray *ms)
{
	g_array_sort(ms, cmp_double);
	if (ms->len % 2 == 1)
		return g_array_index(ms, gdouble, ms->len / 2);
	return (g_array_index(ms, gdouble, ms->len / 2 - 1) + g_array_index(ms, gdouble, ms->len / 2)) / 2;
}

static void
print_row(const gchar *what, GArray *ms, gdouble ratio_to)
{
	gdouble med = median(ms);
	g_autofree gchar *ratio = ratio_to > 0 ? g_strdup_printf("%.1f×", med / ratio_to) : g_strdup("-");

	g_print("| %s | %u | %.1f | %.1f | %.1f | %s |\n", what, ms->len, med, g_array_index(ms, gdouble, 0),
		g_array_index(ms, gdouble, ms->len - 1), ratio);
}

static void
run_quiet(const gchar *const *argv)
{
	gint status = -1;
	g_autofree gchar *out = NULL;
	g_autofree gchar *err = NULL;

	if (!me_test_spawn_sync(argv, NULL, &out, &err, &status) || status != 0)
		g_error("%s failed (%d): %s%s", argv[0], status, out != NULL ? out : "", err != NULL ? err : "");
}

static gdouble
time_spawn(const gchar *const *argv)
{
	gint64 start = g_get_monotonic_time();

	run_quiet(argv);
	return (gdouble)(g_get_monotonic_time() - start) / 1000.0;
}

static void
bench_keys(guint runs)
{
	struct {
		MeKeyType type;
		const gchar *genpkey[8];
		guint runs;
	} types[] = {
	    {ME_KEY_TYPE_EC_P256, {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", NULL}, runs * 4},
	    {ME_KEY_TYPE_EC_P384, {"-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", NULL}, runs * 4},
	    {ME_KEY_TYPE_RSA_2048, {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", NULL}, runs * 2},
	    {ME_KEY_TYPE_RSA_3072, {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", NULL}, runs},
	    {ME_KEY_TYPE_RSA_4096, {"-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", NULL}, MAX(runs / 2, 3)},
	};
	g_autoptr(GArray) floor_ms = g_array_new(FALSE, FALSE, sizeof(gdouble));
	const gchar *version[] = {"openssl", "version", NULL};
	gdouble floor_med;

	g_print("\n## Certificate key generation\n\n");
	g_print("| what | runs | median ms | min | max | peer / mailenroll |\n|---|---|---|---|---|---|\n");
	for (guint i = 0; i < runs * 2; i++) {
		gdouble t = time_spawn(version);
		g_array_append_val(floor_ms, t);
	}
	floor_med = median(floor_ms);
	print_row("`openssl version` (process start floor)", floor_ms, 0);

	for (gsize i = 0; i < G_N_ELEMENTS(types); i++) {
		g_autoptr(GArray) ours = g_array_new(FALSE, FALSE, sizeof(gdouble));
		g_autoptr(GArray) peer = g_array_new(FALSE, FALSE, sizeof(gdouble));
		g_autoptr(GPtrArray) argv = g_ptr_array_new();
		g_autofree gchar *label = NULL;
		gdouble our_med;

		g_ptr_array_add(argv, (gpointer) "openssl");
		g_ptr_array_add(argv, (gpointer) "genpkey");
		for (guint j = 0; types[i].genpkey[j] != NULL; j++)
			g_ptr_array_add(argv, (gpointer)types[i].genpkey[j]);
		g_ptr_array_add(argv, (gpointer) "-out");
		g_ptr_array_add(argv, (gpointer) "/dev/null");
		g_ptr_array_add(argv, NULL);

		/* interleaved, so a change of machine load hits both */
		for (guint r = 0; r < types[i].runs; r++) {
			g_autoptr(GError) error = NULL;
			gint64 start = g_get_monotonic_time();
			g_autoptr(EVP_PKEY) key = me_key_generate(types[i].type, &error);
			gdouble t = (gdouble)(g_get_monotonic_time() - start) / 1000.0;
			g_assert_no_error(error);
			g_array_append_val(ours, t);
			t = time_spawn((const gchar *const *)argv->pdata);
			g_array_append_val(peer, t);
		}
		our_med = median(ours);
		label = g_strdup_printf("**mailenroll** %s", me_key_type_to_string(types[i].type));
		print_row(label, ours, 0);
		g_free(label);
		label = g_strdup_printf("openssl genpkey %s (minus the floor: %.1f ms)",
					me_key_type_to_string(types[i].type), median(peer) - floor_med);
		print_row(label, peer, our_med);
	}
}

static X509 *
write_pem_cert(BIO *bio, X509 *cert)
{
	g_assert_true(PEM_write_bio_X509(bio, cert));
	return cert;
}

static void
bench_import(guint runs, const gchar *dir)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(EVP_PKEY) root_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(EVP_PKEY) int_key = me_key_generate(ME_KEY_TYPE_EC_P256, &error);
	g_autoptr(EVP_PKEY) ee_key = me_key_generate(ME_KEY_TYPE_CERTIFICATE_DEFAULT, &error);
	g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func((GDestroyNotify)X509_free);
	g_autoptr(GArray) ours = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) again = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autoptr(GArray) peer = g_array_new(FALSE, FALSE, sizeof(gdouble));
	g_autofree gchar *material = g_build_filename(dir, "material.pem", NULL);
	g_autofree gchar *p12 = g_build_filename(dir, "peer.p12", NULL);
	g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
	X509 *root;
	X509 *inter;
	BUF_MEM *mem;
	gdouble our_med;

	g_assert_no_error(error);
	root = me_test_make_cert("Bench Root", root_key, NULL, root_key, TRUE, NULL);
	inter = me_test_make_cert("Bench Intermediate", int_key, root, root_key, TRUE, NULL);
	g_ptr_array_add(chain, me_test_make_cert("alice@example.org", ee_key, inter, int_key, FALSE, "alice@example.org"));
	g_ptr_array_add(chain, inter);
	g_ptr_array_add(chain, root);

	/* the peer's PKCS#12: made by the openssl CLI from a PEM file that lives in the
	 * benchmark's temporary folder for the moment it takes */
	for (guint i = 0; i < chain->len; i++)
		write_pem_cert(bio, g_ptr_array_index(chain, i));
	g_assert_true(PEM_write_bio_PrivateKey(bio, ee_key, NULL, NULL, 0, NULL, NULL));
	BIO_get_mem_ptr(bio, &mem);
	g_assert_true(g_file_set_contents(material, mem->data, (gssize)mem->length, NULL));
	{
		const gchar *argv[] = {"openssl", "pkcs12", "-export", "-in", material, "-name", "alice@example.org",
				       "-passout", "pass:pw", "-out", p12, NULL};
		run_quiet(argv);
	}
	me_secure_wipe(mem->data, mem->length);
	g_assert_cmpint(g_unlink(material), ==, 0);

	for (guint r = 0; r < runs; r++) {
		g_autofree gchar *ours_dir = g_strdup_printf("%s/ours%u", dir, r);
		g_autofree gchar *peer_dir = g_strdup_printf("%s/peer%u", dir, r);
		g_autofree gchar *ours_db = g_strconcat("sql:", ours_dir, NULL);
		g_autofree gchar *peer_db = g_strconcat("sql:", peer_dir, NULL);
		const gchar *init_ours[] = {"certutil", "-N", "-d", ours_db, "--empty-password", NULL};
		const gchar *init_peer[] = {"certutil", "-N", "-d", peer_db, "--empty-password", NULL};
		const gchar *import_peer[] = {"pk12util", "-i", p12, "-d", peer_db, "-W", "pw", "-K", "", NULL};
		gint64 start;
		gdouble t;

		g_assert_cmpint(g_mkdir(ours_dir, 0700), ==, 0);
		g_assert_cmpint(g_mkdir(peer_dir, 0700), ==, 0);
		run_quiet(init_ours);
		run_quiet(init_peer);
		for (guint pass = 0; pass < 2; pass++) {
			g_autoptr(MeNssdbImport) imp = NULL;
			start = g_get_monotonic_time();
			imp = me_nssdb_import(ours_dir, ee_key, chain, NULL, NULL, ME_NSSDB_IMPORT_FLAGS_NONE, &error);
			t = (gdouble)(g_get_monotonic_time() - start) / 1000.0;
			g_assert_no_error(error);
			g_assert_cmpuint(imp->certs_added, ==, pass == 0 ? 3 : 0);
			g_array_append_val(pass == 0 ? ours : again, t);
		}
		t = time_spawn(import_peer);
		g_array_append_val(peer, t);
	}
	our_med = median(ours);
	g_print("\n## Import of key + 3-certificate chain (%s) into a fresh NSS database\n\n",
		me_key_type_to_string(ME_KEY_TYPE_CERTIFICATE_DEFAULT));
	g_print("| what | runs | median ms | min | max | peer / mailenroll |\n|---|---|---|---|---|---|\n");
	print_row("**mailenroll** me_nssdb_import (open, import, close)", ours, 0);
	print_row("**mailenroll** the same import again (nothing to add)", again, 0);
	print_row("pk12util -i (process, PKCS#12 with 2048 PBKDF2 iterations)", peer, our_med);
}

int
main(int argc, char **argv)
{
	guint runs = 9;
	g_autofree gchar *dir = NULL;

	setlocale(LC_ALL, "");
	if (argc == 3 && g_strcmp0(argv[1], "--runs") == 0)
		runs = (guint)MAX(g_ascii_strtoull(argv[2], NULL, 10), 1);
	else if (argc != 1) {
		g_printerr("usage: store-bench [--runs N]\n");
		return 2;
	}
	dir = me_test_tmpdir();
	g_print("# store-bench: %u runs (EC ×4, RSA-2048 ×2, RSA-4096 ×½), %s\n", runs, OpenSSL_version(OPENSSL_VERSION));
	bench_keys(runs);
	bench_import(runs, dir);
	me_test_rm_rf(dir);
	return 0;
}
