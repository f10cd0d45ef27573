/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeDkim"

#include "config.h"

#include "dkim.h"

#include <glib/gi18n-lib.h>
#include <opendkim/dkim.h>
#include <string.h>

#include "dl.h"
#include "keys.h"
#include "secmem.h"

/*
 * The only file that talks to libopendkim.  libopendkim does the RFC 6376 work (tag parsing,
 * canonicalization, hashing, RSA and Ed25519); keys come from MeDns through the key lookup
 * callback, never from libopendkim's own resolver.  The RFC 8823 rules (d= equals the From
 * domain, the h= minimum) are checked on top, from the tags libopendkim parsed.
 */

/* libopendkim is loaded on first use (dl.c), by me_dkim_new(): every function of it this file
 * calls is in this list and is called as sym_NAME().  The build does not link libopendkim, so
 * a function called by its own name fails to link (CONTRIBUTING.md) */
#define DKIM_SYMBOLS(X)                                                                                                \
	X(dkim_chunk)                                                                                                  \
	X(dkim_close)                                                                                                  \
	X(dkim_eom)                                                                                                    \
	X(dkim_free)                                                                                                   \
	X(dkim_get_user_context)                                                                                       \
	X(dkim_geterror)                                                                                               \
	X(dkim_getresultstr)                                                                                           \
	X(dkim_getsighdr_d)                                                                                            \
	X(dkim_getsiglist)                                                                                             \
	X(dkim_init)                                                                                                   \
	X(dkim_libfeature)                                                                                             \
	X(dkim_options)                                                                                                \
	X(dkim_set_key_lookup)                                                                                         \
	X(dkim_set_user_context)                                                                                       \
	X(dkim_sig_getbh)                                                                                              \
	X(dkim_sig_getdomain)                                                                                          \
	X(dkim_sig_geterror)                                                                                           \
	X(dkim_sig_geterrorstr)                                                                                        \
	X(dkim_sig_getflags)                                                                                           \
	X(dkim_sig_getselector)                                                                                        \
	X(dkim_sig_gettagvalue)                                                                                        \
	X(dkim_sign)                                                                                                   \
	X(dkim_verify)

DKIM_SYMBOLS(ME_DL_DECLARE)

#define ME_DKIM_ID "mailenroll"
/* the header field name and the separator libopendkim leaves out of dkim_getsighdr_d() */
#define ME_DKIM_HEADER_PREFIX "DKIM-Signature: "
/* our allocation header in front of every block libopendkim gets; keeps 16-byte alignment */
#define ME_DKIM_BLOCK_HEADER 16

struct _MeDkim {
	DKIM_LIB *lib;
	MeDns *dns; /* borrowed */
	gboolean ed25519;
	/* libopendkim takes the header lists to sign as library-wide options, so signing runs
	 * one at a time; verification does not read them and runs freely */
	GMutex sign_lock;
	GPtrArray *sign_headers[2]; /* per MeDkimPolicy: lowercase, NULL-terminated */
};

/* what one verification needs inside the key callback (dkim_get_user_context()) */
typedef struct {
	MeDkim *dkim;
	const gchar *from_domain; /* nullable: the only d= whose keys are looked up */
	GHashTable *failures;  /* DKIM_SIGINFO * → why its key could not be had */
	GHashTable *temporary; /* the DKIM_SIGINFO * of those whose lookup may work later */
} VerifyCtx;

static const gchar *const challenge_headers[] = {
    "From",
    "Sender",
    "Reply-To",
    "To",
    "CC",
    "Subject",
    "Date",
    "In-Reply-To",
    "References",
    "Message-ID",
    "Auto-Submitted",
    "Content-Type",
    "Content-Transfer-Encoding",
    NULL,
};

/* the same without Auto-Submitted (RFC 8823 §3.2 item 9) */
static const gchar *const reply_headers[] = {
    "From",
    "Sender",
    "Reply-To",
    "To",
    "CC",
    "Subject",
    "Date",
    "In-Reply-To",
    "References",
    "Message-ID",
    "Content-Type",
    "Content-Transfer-Encoding",
    NULL,
};

/* RFC 8823 §3.1 item 6 and §3.2 item 9: SHOULD also be signed */
static const gchar *const recommended_headers[] = {
    "Resent-Date",
    "Resent-From",
    "Resent-To",
    "Resent-Cc",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "List-Unsubscribe-Post",
    NULL,
};

/*
 * libopendkim's allocator.  dkim_sign() copies the private key PEM into a block of its own
 * and frees it without wiping; every block it takes from us is wiped when it gives it back.
 */
static void *
lib_malloc(void *closure, size_t nbytes)
{
	guint8 *block;

	if (nbytes > G_MAXSIZE - ME_DKIM_BLOCK_HEADER)
		return NULL;
	block = g_try_malloc(nbytes + ME_DKIM_BLOCK_HEADER);
	if (block == NULL)
		return NULL;
	memcpy(block, &nbytes, sizeof(nbytes));
	return block + ME_DKIM_BLOCK_HEADER;
}

static void
lib_free(void *closure, void *ptr)
{
	guint8 *block;
	gsize nbytes;

	if (ptr == NULL)
		return;
	block = (guint8 *)ptr - ME_DKIM_BLOCK_HEADER;
	memcpy(&nbytes, block, sizeof(nbytes));
	me_secure_wipe(ptr, nbytes);
	g_free(block);
}

/**
 * me_dkim_signature_free:
 * @sig: (nullable): a signature from me_dkim_verify()
 */
void
me_dkim_signature_free(MeDkimSignature *sig)
{
	if (sig == NULL)
		return;
	g_free(sig->domain);
	g_free(sig->selector);
	g_free(sig->algorithm);
	g_strfreev(sig->signed_headers);
	g_free(sig->error);
	g_free(sig);
}

/**
 * me_dkim_required_headers:
 * @policy: the challenge or the reply
 *
 * Returns: (transfer none): the header field names RFC 8823 requires in `h=`: 13 for the
 * challenge (§3.1), 12 for the reply (§3.2, no Auto-Submitted); %NULL-terminated
 */
const gchar *const *
me_dkim_required_headers(MeDkimPolicy policy)
{
	return policy == ME_DKIM_POLICY_REPLY ? reply_headers : challenge_headers;
}

/**
 * me_dkim_recommended_headers:
 *
 * Returns: (transfer none): the 12 Resent-* and List-* names RFC 8823 says SHOULD also be
 * signed, for both mails; %NULL-terminated
 */
const gchar *const *
me_dkim_recommended_headers(void)
{
	return recommended_headers;
}

static void
add_lowercase(GPtrArray *list, const gchar *const *names)
{
	for (guint i = 0; names[i] != NULL; i++)
		g_ptr_array_add(list, g_ascii_strdown(names[i], -1));
}

/* required + recommended + MIME-Version, which RFC 6376 §5.4.1 also lists */
static GPtrArray *
sign_header_list(MeDkimPolicy policy)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);

	add_lowercase(list, me_dkim_required_headers(policy));
	add_lowercase(list, recommended_headers);
	g_ptr_array_add(list, g_strdup("mime-version"));
	/* libopendkim wants a NULL-terminated char ** */
	g_ptr_array_add(list, NULL);
	return list;
}

static gchar *
key_failure_message(const gchar *name, const GError *error)
{
	if (g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND))
		/* TRANSLATORS: the DNS record with a DKIM public key does not exist; %s is its name */
		return g_strdup_printf(_("The DKIM key record %s does not exist."), name);
	if (g_error_matches(error, ME_ERROR, ME_ERROR_TIMED_OUT) || g_error_matches(error, ME_ERROR, ME_ERROR_NETWORK))
		/* TRANSLATORS: the DNS lookup of a DKIM public key failed for now; %s is its name */
		return g_strdup_printf(_("The DKIM key record %s could not be looked up."), name);
	/* TRANSLATORS: the DNS record with a DKIM public key is unusable; %s is its name */
	return g_strdup_printf(_("The DKIM key record %s is not usable."), name);
}

static gboolean
domain_equal(const gchar *d, const gchar *from_domain);

static gchar *
not_from_domain_message(const gchar *d, const gchar *from_domain)
{
	/* TRANSLATORS: RFC 8823 wants the DKIM d= domain to be the sender's domain; first %s is d=, second the From domain */
	return g_strdup_printf(_("The DKIM signature is by %s, not by the sender's domain %s."), d, from_domain);
}

/* libopendkim asks for <s>._domainkey.<d> (RFC 6376 §3.6.2.1); the answer comes from MeDns */
static DKIM_CBSTAT
key_lookup(DKIM *handle, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	VerifyCtx *ctx = sym_dkim_get_user_context(handle);
	const gchar *selector = (const gchar *)sym_dkim_sig_getselector(sig);
	const gchar *domain = (const gchar *)sym_dkim_sig_getdomain(sig);
	g_autofree gchar *name = NULL;
	g_autofree gchar *record = NULL;
	g_autoptr(GError) error = NULL;
	gsize len;

	if (ctx == NULL || selector == NULL || domain == NULL)
		return DKIM_CBSTAT_ERROR;
	/* a signature by another domain can never count (RFC 8823 §3.1 item 6): the mail must not
	 * make us query names of its choosing, nor hold the enrollment while they time out */
	if (ctx->from_domain != NULL && !domain_equal(domain, ctx->from_domain)) {
		g_debug("d=%s is not the From domain %s: no key lookup", domain, ctx->from_domain);
		g_hash_table_insert(ctx->failures, sig, not_from_domain_message(domain, ctx->from_domain));
		return DKIM_CBSTAT_NOTFOUND;
	}
	name = g_strdup_printf("%s._domainkey.%s", selector, domain);
	record = me_dns_lookup_txt(ctx->dkim->dns, name, &error);
	/* every failure is reported as NOTFOUND: libopendkim then marks this signature and goes
	 * on with the others, where TRYAGAIN or ERROR would abandon the whole message; the real
	 * reason is kept in ctx */
	if (record == NULL) {
		g_debug("key %s: %s", name, error->message);
		g_hash_table_insert(ctx->failures, sig, key_failure_message(name, error));
		if (g_error_matches(error, ME_ERROR, ME_ERROR_TIMED_OUT) ||
		    g_error_matches(error, ME_ERROR, ME_ERROR_NETWORK))
			g_hash_table_add(ctx->temporary, sig);
		return DKIM_CBSTAT_NOTFOUND;
	}
	len = strlen(record);
	g_debug("key %s: %" G_GSIZE_FORMAT " bytes, room for %" G_GSIZE_FORMAT, name, len, (gsize)buflen);
	if (len >= buflen) {
		g_hash_table_insert(ctx->failures, sig,
				    /* TRANSLATORS: a DKIM key record is larger than any real key; %s is its name */
				    g_strdup_printf(_("The DKIM key record %s is too large."), name));
		return DKIM_CBSTAT_NOTFOUND;
	}
	memcpy(buf, record, len + 1);
	return DKIM_CBSTAT_CONTINUE;
}

/**
 * me_dkim_new:
 * @dns: the resolver for key records; borrowed, it must outlive the #MeDkim
 * @error: (nullable): return location
 *
 * Sets up libopendkim with @dns as its only source of keys.  One #MeDkim may be used from
 * several threads.
 *
 * Returns: (transfer full): the verifier and signer, or %NULL with @error set
 */
MeDkim *
me_dkim_new(MeDns *dns, GError **error)
{
	static const MeDlSymbol symbols[] = {DKIM_SYMBOLS(ME_DL_ROW)};
	g_autoptr(MeDkim) dkim = NULL;
	guint flags = DKIM_LIBFLAGS_BADSIGHANDLES;

	g_return_val_if_fail(dns != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!me_dl_load(ME_DL_LIBRARY_OPENDKIM, symbols, G_N_ELEMENTS(symbols), error))
		return NULL;
	dkim = g_new0(MeDkim, 1);
	g_mutex_init(&dkim->sign_lock);
	dkim->dns = dns;
	dkim->sign_headers[ME_DKIM_POLICY_CHALLENGE] = sign_header_list(ME_DKIM_POLICY_CHALLENGE);
	dkim->sign_headers[ME_DKIM_POLICY_REPLY] = sign_header_list(ME_DKIM_POLICY_REPLY);
	dkim->lib = sym_dkim_init(lib_malloc, lib_free);
	if (dkim->lib == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_FAILED,
				    /* TRANSLATORS: the DKIM library could not be started */
				    _("The DKIM library could not be initialised."));
		return NULL;
	}
	dkim->ed25519 = sym_dkim_libfeature(dkim->lib, DKIM_FEATURE_ED25519);
	/* BADSIGHANDLES: a malformed signature is reported as failed instead of vanishing */
	if (sym_dkim_options(dkim->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK ||
	    sym_dkim_set_key_lookup(dkim->lib, key_lookup) != DKIM_STAT_OK) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_FAILED,
				    /* TRANSLATORS: the DKIM library refused its settings */
				    _("The DKIM library could not be configured."));
		return NULL;
	}
	return g_steal_pointer(&dkim);
}

/**
 * me_dkim_free:
 * @dkim: (nullable): a #MeDkim
 */
void
me_dkim_free(MeDkim *dkim)
{
	if (dkim == NULL)
		return;
	if (dkim->lib != NULL)
		sym_dkim_close(dkim->lib);
	for (guint i = 0; i < G_N_ELEMENTS(dkim->sign_headers); i++)
		g_ptr_array_unref(dkim->sign_headers[i]);
	g_mutex_clear(&dkim->sign_lock);
	g_free(dkim);
}

/**
 * me_dkim_has_ed25519:
 * @dkim: a #MeDkim
 *
 * Returns: %TRUE if this libopendkim was built with Ed25519 (RFC 8463) support
 */
gboolean
me_dkim_has_ed25519(MeDkim *dkim)
{
	g_return_val_if_fail(dkim != NULL, FALSE);
	return dkim->ed25519;
}

/* the contract: a whole message, CRLF line ends, of a sane size */
static gboolean
message_check(GBytes *message, GError **error)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(message, &len);

	if (len > ME_DKIM_MESSAGE_MAX) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_TOO_LARGE,
				    /* TRANSLATORS: a mail is too large to check or sign */
				    _("The message is too large for a DKIM check."));
		return FALSE;
	}
	for (const gchar *lf = memchr(data, '\n', len); lf != NULL;
	     lf = memchr(lf + 1, '\n', len - (gsize)(lf + 1 - data))) {
		if (lf == data || lf[-1] != '\r') {
			g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: a mail's lines do not end in CR LF as RFC 5322 requires */
					    _("The message has a line that does not end in CR LF."));
			return FALSE;
		}
	}
	return TRUE;
}

/* DKIM-Signature fields in the header section (a field starts at a line not starting with WSP) */
static guint
count_signatures(GBytes *message)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(message, &len);
	const gsize name_len = strlen("DKIM-Signature");
	guint count = 0;
	gsize off = 0;

	while (off < len && !(len - off >= 2 && data[off] == '\r' && data[off + 1] == '\n')) {
		const gchar *eol = g_strstr_len(data + off, (gssize)(len - off), "\r\n");
		gsize line_len = eol != NULL ? (gsize)(eol - (data + off)) : len - off;
		if (line_len > name_len && g_ascii_strncasecmp(data + off, "DKIM-Signature", name_len) == 0) {
			const gchar *p = data + off + name_len;
			while (p < data + off + line_len && (*p == ' ' || *p == '\t'))
				p++;
			if (p < data + off + line_len && *p == ':')
				count++;
		}
		off += line_len + 2;
	}
	return count;
}

static const gchar *
tag_value(DKIM_SIGINFO *sig, const gchar *tag)
{
	return (const gchar *)sym_dkim_sig_gettagvalue(sig, FALSE, (u_char *)tag);
}

/* h= as libopendkim keeps it (FWS already removed): names joined by colons */
static GStrv
split_signed_headers(const gchar *value)
{
	g_autoptr(GStrvBuilder) builder = g_strv_builder_new();
	g_auto(GStrv) names = g_strsplit(value != NULL ? value : "", ":", -1);

	for (guint i = 0; names[i] != NULL; i++) {
		g_autofree gchar *name = g_ascii_strdown(g_strstrip(names[i]), -1);
		if (name[0] != '\0')
			g_strv_builder_add(builder, name);
	}
	return g_strv_builder_end(builder);
}

static gint64
parse_decimal(const gchar *value, gint64 absent)
{
	guint64 number = 0;

	if (value == NULL || !g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT64, &number, NULL))
		return absent;
	return (gint64)number;
}

/* libopendkim's verdict on one signature as one sentence; NULL when it has no complaint */
static gchar *
sigerror_message(gint sigerror)
{
	switch (sigerror) {
	case DKIM_SIGERROR_OK:
		return NULL;
	case DKIM_SIGERROR_EXPIRED:
		/* TRANSLATORS: a DKIM signature's x= time has passed */
		return g_strdup(_("The DKIM signature has expired."));
	case DKIM_SIGERROR_FUTURE:
		/* TRANSLATORS: a DKIM signature's t= time lies in the future */
		return g_strdup(_("The DKIM signature is dated in the future."));
	case DKIM_SIGERROR_NOKEY:
		/* TRANSLATORS: no DKIM public key was found in DNS */
		return g_strdup(_("The DKIM key record does not exist."));
	case DKIM_SIGERROR_KEYFAIL:
		/* TRANSLATORS: the DNS lookup of a DKIM public key failed */
		return g_strdup(_("The DKIM key record could not be looked up."));
	case DKIM_SIGERROR_KEYREVOKED:
		/* TRANSLATORS: a DKIM key record has an empty p=, which means the key was withdrawn */
		return g_strdup(_("The DKIM key has been revoked."));
	case DKIM_SIGERROR_KEYTOOSMALL:
		/* TRANSLATORS: a DKIM RSA key is shorter than 1024 bits */
		return g_strdup(_("The DKIM key is too small to be trusted."));
	case DKIM_SIGERROR_BADSIG:
		/* TRANSLATORS: a DKIM signature does not match the signed header fields */
		return g_strdup(_("The DKIM signature does not match the signed header fields."));
	case DKIM_SIGERROR_TOOLARGE_L:
		/* TRANSLATORS: a DKIM signature's l= claims more body than the mail has */
		return g_strdup(_("The DKIM signature covers more body than the message has."));
	case DKIM_SIGERROR_INVALID_H:
		/* TRANSLATORS: a DKIM signature's h= does not include From */
		return g_strdup(_("The DKIM signature does not cover the From header field."));
	case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYDECODE:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_DNSSYNTAX:
		/* TRANSLATORS: the DKIM public key in DNS cannot be used for this signature */
		return g_strdup(_("The DKIM key record cannot be used for this signature."));
	default:
		/* TRANSLATORS: a DKIM signature is malformed; %s is the library's reason in English */
		return g_strdup_printf(_("The DKIM signature is malformed: %s."), sym_dkim_sig_geterrorstr(sigerror));
	}
}

/* why @sig does not count as verified, or NULL */
static gchar *
signature_problem(DKIM_SIGINFO *sig, VerifyCtx *ctx, const MeDkimSignature *out)
{
	const gchar *failure = g_hash_table_lookup(ctx->failures, sig);
	gint sigerror = sym_dkim_sig_geterror(sig);
	gchar *message;

	if (failure != NULL)
		return g_strdup(failure);
	/* libopendkim reports a changed body as a bad signature; say which part changed */
	if ((sigerror == DKIM_SIGERROR_OK || sigerror == DKIM_SIGERROR_BADSIG) &&
	    sym_dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH)
		/* TRANSLATORS: the mail body does not match the body hash of the DKIM signature */
		return g_strdup(_("The message body was changed after it was signed."));
	message = sigerror_message(sigerror);
	if (message != NULL)
		return message;
	if (g_strcmp0(out->algorithm, "rsa-sha256") != 0 && g_strcmp0(out->algorithm, "ed25519-sha256") != 0)
		/* TRANSLATORS: a DKIM signature uses an algorithm such as rsa-sha1 that RFC 8301 retired */
		return g_strdup(_("The DKIM signature uses an algorithm that is no longer accepted."));
	if (sym_dkim_sig_getbh(sig) != DKIM_SIGBH_MATCH || (sym_dkim_sig_getflags(sig) & DKIM_SIGFLAG_PASSED) == 0)
		return sigerror_message(DKIM_SIGERROR_BADSIG);
	/* libopendkim allows clock drift; RFC 6376 §3.5 makes x= a hard end */
	if (out->expires != 0 && out->expires <= g_get_real_time() / G_USEC_PER_SEC)
		return sigerror_message(DKIM_SIGERROR_EXPIRED);
	return NULL;
}

static MeDkimSignature *
signature_new(DKIM_SIGINFO *sig, VerifyCtx *ctx)
{
	MeDkimSignature *out = g_new0(MeDkimSignature, 1);
	const gchar *domain = (const gchar *)sym_dkim_sig_getdomain(sig);
	const gchar *selector = (const gchar *)sym_dkim_sig_getselector(sig);
	const gchar *algorithm = tag_value(sig, "a");

	out->domain = g_strdup(domain != NULL ? domain : "");
	out->selector = g_strdup(selector != NULL ? selector : "");
	out->algorithm = g_ascii_strdown(algorithm != NULL ? algorithm : "", -1);
	out->signed_headers = split_signed_headers(tag_value(sig, "h"));
	out->expires = parse_decimal(tag_value(sig, "x"), 0);
	out->body_length = (gssize)parse_decimal(tag_value(sig, "l"), -1);
	out->error = signature_problem(sig, ctx, out);
	out->verified = out->error == NULL;
	out->temporary = g_hash_table_contains(ctx->temporary, sig);
	return out;
}

static GPtrArray *
collect_signatures(DKIM *handle, VerifyCtx *ctx, DKIM_STAT status, GError **error)
{
	g_autoptr(GPtrArray) result = g_ptr_array_new_with_free_func((GDestroyNotify)me_dkim_signature_free);
	DKIM_SIGINFO **sigs = NULL;
	gint nsigs = 0;

	if (sym_dkim_getsiglist(handle, &sigs, &nsigs) != DKIM_STAT_OK || nsigs <= 0) {
		g_debug("no signatures processed: %s (%s)", sym_dkim_getresultstr(status),
			sym_dkim_geterror(handle) != NULL ? sym_dkim_geterror(handle) : "no detail");
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a mail's DKIM signatures could not even be read */
				    _("The message's DKIM signatures could not be processed."));
		return NULL;
	}
	for (gint i = 0; i < nsigs; i++)
		g_ptr_array_add(result, signature_new(sigs[i], ctx));
	return g_steal_pointer(&result);
}

static GPtrArray *
verify_with_handle(MeDkim *dkim, DKIM *handle, GBytes *message, const gchar *from_domain, GError **error)
{
	VerifyCtx ctx = {
	    .dkim = dkim,
	    .from_domain = from_domain,
	    .failures = g_hash_table_new_full(NULL, NULL, NULL, g_free),
	    .temporary = g_hash_table_new(NULL, NULL),
	};
	gsize len = 0;
	const guchar *data = g_bytes_get_data(message, &len);
	DKIM_STAT status;
	GPtrArray *result;

	sym_dkim_set_user_context(handle, &ctx);
	/* dkim_chunk() wants a writable buffer but does not write to it */
	status = sym_dkim_chunk(handle, (u_char *)data, len);
	if (status == DKIM_STAT_OK)
		status = sym_dkim_chunk(handle, NULL, 0);
	if (status == DKIM_STAT_OK)
		status = sym_dkim_eom(handle, NULL);
	result = collect_signatures(handle, &ctx, status, error);
	g_hash_table_unref(ctx.failures);
	g_hash_table_unref(ctx.temporary);
	return result;
}

/**
 * me_dkim_verify:
 * @dkim: a #MeDkim
 * @message: a whole RFC 5322 message with CRLF line ends
 * @from_domain: (nullable): the domain of the message's From address; when given, only
 *   signatures whose `d=` is this domain (compared as me_dkim_check_rfc8823() does) get a key
 *   lookup, and every other one fails at once, without a DNS query
 * @error: (nullable): return location
 *
 * Verifies every DKIM-Signature of @message (rsa-sha256 and, when me_dkim_has_ed25519(),
 * ed25519-sha256; simple and relaxed canonicalization; `l=`; `x=`).  Keys are looked up with
 * the #MeDns given to me_dkim_new().  A failed signature is not an error: it comes back with
 * `verified` false and a reason, and with `temporary` true when only its key lookup failed
 * for now (no answer, server failure), so that verifying again later may succeed.  Whether a signature is good enough for RFC 8823 is a separate
 * question, see me_dkim_check_rfc8823().
 *
 * Errors: %ME_ERROR_INVALID_DATA for a message with bare LF line ends or unreadable
 * signatures, %ME_ERROR_TOO_LARGE for more than %ME_DKIM_SIGNATURES_MAX signatures or more
 * than %ME_DKIM_MESSAGE_MAX bytes.
 *
 * Returns: (transfer full) (element-type MeDkimSignature): one entry per DKIM-Signature in
 * header order (empty if there is none), or %NULL with @error set
 */
GPtrArray *
me_dkim_verify(MeDkim *dkim, GBytes *message, const gchar *from_domain, GError **error)
{
	DKIM *handle;
	DKIM_STAT status = DKIM_STAT_OK;
	guint count;
	GPtrArray *result;

	g_return_val_if_fail(dkim != NULL, NULL);
	g_return_val_if_fail(message != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!message_check(message, error))
		return NULL;
	count = count_signatures(message);
	if (count == 0)
		return g_ptr_array_new_with_free_func((GDestroyNotify)me_dkim_signature_free);
	if (count > ME_DKIM_SIGNATURES_MAX) {
		g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: a mail carries more DKIM signatures than we check; %u is the limit */
			    _("The message has more than %u DKIM signatures."), (guint)ME_DKIM_SIGNATURES_MAX);
		return NULL;
	}
	handle = sym_dkim_verify(dkim->lib, (const u_char *)ME_DKIM_ID, NULL, &status);
	if (handle == NULL) {
		g_debug("dkim_verify: %s", sym_dkim_getresultstr(status));
		g_set_error_literal(error, ME_ERROR, ME_ERROR_FAILED,
				    /* TRANSLATORS: the DKIM library could not start a verification */
				    _("The DKIM check could not be started."));
		return NULL;
	}
	result = verify_with_handle(dkim, handle, message, from_domain, error);
	sym_dkim_free(handle);
	return result;
}

static gboolean
headers_contain(GStrv names, const gchar *name)
{
	for (guint i = 0; names != NULL && names[i] != NULL; i++) {
		if (g_ascii_strcasecmp(names[i], name) == 0)
			return TRUE;
	}
	return FALSE;
}

/* d= against the From domain: exact, case-insensitive, trailing dot ignored, U-labels as A-labels */
static gboolean
domain_equal(const gchar *d, const gchar *from_domain)
{
	g_autofree gchar *ascii = g_hostname_to_ascii(from_domain);
	gsize d_len = strlen(d);
	gsize f_len;

	if (ascii == NULL)
		return FALSE;
	f_len = strlen(ascii);
	if (d_len > 0 && d[d_len - 1] == '.')
		d_len--;
	if (f_len > 0 && ascii[f_len - 1] == '.')
		f_len--;
	return d_len > 0 && d_len == f_len && g_ascii_strncasecmp(d, ascii, d_len) == 0;
}

static void
set_why(gchar **why, gchar *text)
{
	if (why != NULL)
		*why = text;
	else
		g_free(text);
}

/**
 * me_dkim_check_rfc8823:
 * @sig: a signature from me_dkim_verify()
 * @from_domain: the domain of the message's From address (A-labels or U-labels)
 * @policy: the challenge (RFC 8823 §3.1) or the reply (§3.2) rules
 * @why: (out) (optional) (nullable): one sentence on why the signature does not do
 *
 * Checks RFC 8823's rules on a DKIM signature: it verified, `d=` is the From domain itself
 * (case-insensitive, no parent domain, no DMARC-style alignment), and `h=` lists every name of
 * me_dkim_required_headers() (case-insensitive; listing absent fields is fine).  `l=` is
 * accepted: RFC 8823 never acts on the body.
 *
 * Returns: %TRUE if the signature satisfies @policy
 */
gboolean
me_dkim_check_rfc8823(const MeDkimSignature *sig, const gchar *from_domain, MeDkimPolicy policy, gchar **why)
{
	const gchar *const *required = me_dkim_required_headers(policy);

	g_return_val_if_fail(sig != NULL, FALSE);
	g_return_val_if_fail(from_domain != NULL, FALSE);
	if (why != NULL)
		*why = NULL;
	if (!sig->verified) {
		set_why(why, g_strdup(sig->error != NULL ? sig->error
							 /* TRANSLATORS: a DKIM signature failed for no recorded reason */
							 : _("The DKIM signature did not verify.")));
		return FALSE;
	}
	if (sig->domain == NULL || !domain_equal(sig->domain, from_domain)) {
		set_why(why, not_from_domain_message(sig->domain != NULL ? sig->domain : "", from_domain));
		return FALSE;
	}
	for (guint i = 0; required[i] != NULL; i++) {
		if (!headers_contain(sig->signed_headers, required[i])) {
			set_why(why,
				/* TRANSLATORS: RFC 8823 wants this header field signed; %s is its name, e.g. Auto-Submitted */
				g_strdup_printf(_("The DKIM signature does not cover the %s header field."), required[i]));
			return FALSE;
		}
	}
	return TRUE;
}

/* the signing algorithm for @key, or DKIM_SIGN_UNKNOWN with @error set */
static dkim_alg_t
sign_algorithm(MeDkim *dkim, EVP_PKEY *key, GError **error)
{
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA && EVP_PKEY_get_bits(key) >= 1024)
		return DKIM_SIGN_RSASHA256;
	if (EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 && dkim->ed25519)
		return DKIM_SIGN_ED25519SHA256;
	g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
			    /* TRANSLATORS: DKIM can sign with RSA (1024 bits or more) or Ed25519 keys only */
			    _("DKIM signing needs an RSA key of at least 1024 bits or an Ed25519 key."));
	return DKIM_SIGN_UNKNOWN;
}

static gboolean
sign_name_is_valid(const gchar *text)
{
	gsize len = text != NULL ? strnlen(text, ME_DNS_NAME_MAX + 1) : 0;

	if (len == 0 || len > ME_DNS_NAME_MAX)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isalnum(text[i]) && text[i] != '-' && text[i] != '_' && text[i] != '.')
			return FALSE;
	}
	return TRUE;
}

/* the header lists are library-wide options: called with sign_lock held */
static gboolean
set_sign_headers(MeDkim *dkim, MeDkimPolicy policy)
{
	gchar **names = (gchar **)dkim->sign_headers[policy]->pdata;

	/* SIGNHDRS signs the fields present; OVERSIGNHDRS then lists every name once more, so a
	 * present field cannot gain a second instance and an absent one cannot be added */
	return sym_dkim_options(dkim->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS, names, sizeof(names)) == DKIM_STAT_OK &&
	       sym_dkim_options(dkim->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, names, sizeof(names)) == DKIM_STAT_OK;
}

static gchar *
signature_header(DKIM *handle, GBytes *message)
{
	gsize len = 0;
	const guchar *data = g_bytes_get_data(message, &len);
	u_char *header = NULL;
	size_t header_len = 0;
	DKIM_STAT status;

	status = sym_dkim_chunk(handle, (u_char *)data, len);
	if (status == DKIM_STAT_OK)
		status = sym_dkim_chunk(handle, NULL, 0);
	if (status == DKIM_STAT_OK)
		status = sym_dkim_eom(handle, NULL);
	if (status == DKIM_STAT_OK)
		status = sym_dkim_getsighdr_d(handle, strlen(ME_DKIM_HEADER_PREFIX), &header, &header_len);
	if (status != DKIM_STAT_OK) {
		g_debug("signing failed: %s (%s)", sym_dkim_getresultstr(status),
			sym_dkim_geterror(handle) != NULL ? sym_dkim_geterror(handle) : "no detail");
		return NULL;
	}
	return g_strndup((const gchar *)header, header_len);
}

static gchar *
sign_locked(MeDkim *dkim, GBytes *message, const gchar *domain, const gchar *selector, const MeSecretStr *pem,
	    dkim_alg_t alg, MeDkimPolicy policy)
{
	DKIM *handle;
	DKIM_STAT status = DKIM_STAT_OK;
	gchar *header;

	if (!set_sign_headers(dkim, policy))
		return NULL;
	/* relaxed/relaxed survives the rewrapping MTAs do; length -1: no l= */
	handle = sym_dkim_sign(dkim->lib, (const u_char *)ME_DKIM_ID, NULL, (dkim_sigkey_t)pem, (const u_char *)selector,
			       (const u_char *)domain, DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, alg, -1, &status);
	if (handle == NULL) {
		g_debug("dkim_sign: %s", sym_dkim_getresultstr(status));
		return NULL;
	}
	header = signature_header(handle, message);
	sym_dkim_free(handle);
	return header;
}

/* libopendkim folds with bare LF; the message uses CRLF */
static void
append_crlf_lines(GByteArray *out, const gchar *text)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == '\n' && (p == text || p[-1] != '\r'))
			g_byte_array_append(out, (const guint8 *)"\r", 1);
		g_byte_array_append(out, (const guint8 *)p, 1);
	}
}

/**
 * me_dkim_sign:
 * @dkim: a #MeDkim
 * @message: a whole RFC 5322 message with CRLF line ends
 * @domain: `d=`, which RFC 8823 wants equal to the From domain
 * @selector: `s=`; the public key belongs at `<selector>._domainkey.<domain>`
 * @key: an RSA key of at least 1024 bits (2048 recommended; rsa-sha256) or an Ed25519 key
 *   (ed25519-sha256, RFC 8463)
 * @policy: which RFC 8823 header list to sign
 * @error: (nullable): return location
 *
 * Signs @message with relaxed/relaxed canonicalization and no `l=`.  `h=` covers
 * me_dkim_required_headers() for @policy, me_dkim_recommended_headers() and MIME-Version;
 * every one of these names is over-signed, so neither a second instance of a present field
 * nor an absent field can be added later without breaking the signature.  The private key
 * reaches libopendkim as PEM in wiped memory only, and every block libopendkim frees is wiped.
 *
 * libopendkim 2.11.0~beta2 (Debian 12) does not free the key it loads for an Ed25519
 * signature: each ed25519-sha256 signature leaks a copy of the private key (an EVP_PKEY and
 * libopendkim's struct dkim_crypto), unwiped, until the process ends.  RSA is not affected.
 * Sign with Ed25519 only where that is acceptable (tests, a short-lived process).
 *
 * Returns: (transfer full): @message with a DKIM-Signature header field in front, or %NULL
 * with @error set
 */
GBytes *
me_dkim_sign(MeDkim *dkim, GBytes *message, const gchar *domain, const gchar *selector, EVP_PKEY *key,
	     MeDkimPolicy policy, GError **error)
{
	g_autoptr(MeSecretStr) pem = NULL;
	g_autofree gchar *header = NULL;
	GByteArray *out;
	dkim_alg_t alg;

	g_return_val_if_fail(dkim != NULL && message != NULL && key != NULL, NULL);
	g_return_val_if_fail(policy == ME_DKIM_POLICY_CHALLENGE || policy == ME_DKIM_POLICY_REPLY, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	if (!sign_name_is_valid(domain) || !sign_name_is_valid(selector)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the DKIM domain or selector is not a plain DNS name */
				    _("The DKIM domain or selector is not a valid DNS name."));
		return NULL;
	}
	if (!message_check(message, error))
		return NULL;
	alg = sign_algorithm(dkim, key, error);
	if (alg == DKIM_SIGN_UNKNOWN)
		return NULL;
	pem = me_key_to_pem(key, error);
	if (pem == NULL)
		return NULL;
	g_mutex_lock(&dkim->sign_lock);
	header = sign_locked(dkim, message, domain, selector, pem, alg, policy);
	g_mutex_unlock(&dkim->sign_lock);
	if (header == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_CRYPTO,
				    /* TRANSLATORS: making the DKIM signature of a mail failed */
				    _("The message could not be DKIM-signed."));
		return NULL;
	}
	out = g_byte_array_new();
	append_crlf_lines(out, ME_DKIM_HEADER_PREFIX);
	append_crlf_lines(out, header);
	g_byte_array_append(out, (const guint8 *)"\r\n", 2);
	g_byte_array_append(out, g_bytes_get_data(message, NULL), (guint)g_bytes_get_size(message));
	return g_byte_array_free_to_bytes(out);
}
