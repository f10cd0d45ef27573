/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeMail"

#include "config.h"

#include "mail.h"

#include <glib/gi18n-lib.h>
#include <gmime/gmime.h>
#include <string.h>

#include "dl.h"
#include "me-error.h"

/* GMime is loaded on first use (dl.c), when the first message is parsed: every function of it
 * this file calls is in this list and is called as sym_NAME(); its type macros that call a
 * function (GMIME_IS_MULTIPART ...) are spelled out with the pointers.  The build does not
 * link GMime, so a function called by its own name fails to link (CONTRIBUTING.md) */
#define MAIL_SYMBOLS(X)                                                                                                \
	X(g_mime_content_type_get_mime_type)                                                                           \
	X(g_mime_init)                                                                                                 \
	X(g_mime_message_get_mime_part)                                                                                \
	X(g_mime_message_part_get_message)                                                                             \
	X(g_mime_message_part_get_type)                                                                                \
	X(g_mime_multipart_get_count)                                                                                  \
	X(g_mime_multipart_get_part)                                                                                   \
	X(g_mime_multipart_get_type)                                                                                   \
	X(g_mime_object_get_content_type)                                                                              \
	X(g_mime_parser_construct_message)                                                                             \
	X(g_mime_parser_new_with_stream)                                                                               \
	X(g_mime_parser_options_free)                                                                                  \
	X(g_mime_parser_options_new)                                                                                   \
	X(g_mime_parser_options_set_address_compliance_mode)                                                           \
	X(g_mime_parser_set_format)                                                                                    \
	X(g_mime_stream_mem_new_with_buffer)                                                                           \
	X(g_mime_utils_header_decode_date)                                                                             \
	X(internet_address_group_get_members)                                                                          \
	X(internet_address_group_get_type)                                                                             \
	X(internet_address_list_get_address)                                                                           \
	X(internet_address_list_length)                                                                                \
	X(internet_address_list_parse)                                                                                 \
	X(internet_address_mailbox_get_addr)                                                                           \
	X(internet_address_mailbox_get_type)

MAIL_SYMBOLS(ME_DL_DECLARE)

/* GMime declares no autoptr cleanups of its own */
/* GMime is included by this file only, so its cleanups live here (CONTRIBUTING.md, "Cleanups") */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeParser, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InternetAddressList, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GMimeParserOptions, sym_g_mime_parser_options_free)

/* RFC 5322 §2.1.1 */
#define MAIL_LINE_MAX	   998
#define MAIL_LINE_SOFT_MAX 78
/* more than any real References header carries; keeps a reply's header bounded */
#define MAIL_MAX_MSG_IDS 128
/* groups cannot nest (RFC 5322 §3.4); GMime is more lenient, we are not */
#define MAIL_MAX_ADDRESSES 256

struct _MeMail {
	GBytes *crlf;
	gsize prefix_len;
	GPtrArray *names;  /* element-type utf8 */
	GPtrArray *values; /* element-type utf8, unfolded and trimmed */
	gsize body_offset;
	gchar *media_type;
};

static gboolean
mail_init_gmime(GError **error)
{
	static const MeDlSymbol symbols[] = {MAIL_SYMBOLS(ME_DL_ROW)};
	static gsize initialized = 0;

	if (!me_dl_load(ME_DL_LIBRARY_GMIME, symbols, G_N_ELEMENTS(symbols), error))
		return FALSE;
	/* g_mime_init() is not safe to race, and is never undone: GMime keeps global tables */
	if (g_once_init_enter(&initialized)) {
		sym_g_mime_init();
		g_once_init_leave(&initialized, 1);
	}
	return TRUE;
}

static void
mail_limits_resolve(const MeMailLimits *in, MeMailLimits *out)
{
	out->max_size = in != NULL && in->max_size > 0 ? in->max_size : ME_MAIL_MAX_SIZE_DEFAULT;
	/* the CRLF copy may double the size and GByteArray counts in guint */
	out->max_size = MIN(out->max_size, G_MAXUINT / 4);
	out->max_header_block = in != NULL && in->max_header_block > 0
				    ? in->max_header_block
				    : ME_MAIL_MAX_HEADER_BLOCK_DEFAULT;
	out->max_headers = in != NULL && in->max_headers > 0 ? in->max_headers
							     : ME_MAIL_MAX_HEADERS_DEFAULT;
	out->max_depth = in != NULL && in->max_depth > 0 ? in->max_depth : ME_MAIL_MAX_DEPTH_DEFAULT;
}

static gboolean
line_has_prefix_ci(const gchar *line, gsize line_len, const gchar *prefix)
{
	gsize plen = strlen(prefix);
	return line_len >= plen && g_ascii_strncasecmp(line, prefix, plen) == 0;
}

/* the lines Thunderbird's getRaw() puts in front of the message, never part of it */
static gboolean
is_mozilla_line(const gchar *line, gsize line_len, gboolean first)
{
	if (first && line_len >= 5 && memcmp(line, "From ", 5) == 0)
		return TRUE;
	return line_has_prefix_ci(line, line_len, "X-Mozilla-Status:") ||
	       line_has_prefix_ci(line, line_len, "X-Mozilla-Status2:") ||
	       line_has_prefix_ci(line, line_len, "X-Mozilla-Keys:");
}

static gsize
mail_prefix_len(const gchar *data, gsize len)
{
	gsize pos = 0;

	while (pos < len) {
		const gchar *eol = memchr(data + pos, '\n', len - pos);
		if (eol == NULL || !is_mozilla_line(data + pos, (gsize)(eol - data) - pos, pos == 0))
			break;
		pos = (gsize)(eol - data) + 1;
	}
	return pos;
}

/* every LF becomes CRLF; CRLF stays; the bytes are otherwise untouched */
static GBytes *
mail_to_crlf(const gchar *data, gsize len)
{
	GByteArray *out = g_byte_array_sized_new((guint)MIN(len + len / 32 + 16, G_MAXUINT));
	gsize pos = 0;

	while (pos < len) {
		const gchar *lf = memchr(data + pos, '\n', len - pos);
		gsize run = lf != NULL ? (gsize)(lf - data) - pos : len - pos;

		g_byte_array_append(out, (const guint8 *)data + pos, (guint)run);
		pos += run;
		if (lf == NULL)
			break;
		if (pos == 0 || data[pos - 1] != '\r')
			g_byte_array_append(out, (const guint8 *)"\r\n", 2);
		else
			g_byte_array_append(out, (const guint8 *)"\n", 1);
		pos++;
	}
	return g_byte_array_free_to_bytes(out);
}

static void
set_too_large(GError **error, const gchar *what)
{
	g_set_error(error, ME_ERROR, ME_ERROR_TOO_LARGE,
		    /* TRANSLATORS: %s names the limit, e.g. "header block"; the message was refused */
		    _("The message is too large to be checked (%s)."), what);
}

static gboolean
header_name_valid(const gchar *name, gsize len)
{
	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)name[i];
		if (c < 33 || c > 126 || c == ':')
			return FALSE;
	}
	return TRUE;
}

static gboolean
header_line_clean(const gchar *line, gsize len)
{
	/* NUL would cut the value short and a bare CR can smuggle a line break past readers */
	return memchr(line, '\0', len) == NULL && memchr(line, '\r', len) == NULL;
}

static void
set_bad_header(GError **error)
{
	g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
			    /* TRANSLATORS: a mail's header lines cannot be read */
			    _("The message has a malformed header line."));
}

static gchar *
header_finish_value(GString *value)
{
	gchar *str = g_string_free(value, FALSE);
	return g_strstrip(str);
}

typedef struct {
	GPtrArray *names;
	GPtrArray *values;
	GString *current;
} HeaderParse;

static gboolean
mail_header_line(HeaderParse *hp, const gchar *line, gsize len, GError **error)
{
	const gchar *colon;
	gsize name_len;

	if (!header_line_clean(line, len)) {
		set_bad_header(error);
		return FALSE;
	}
	if (line[0] == ' ' || line[0] == '\t') {
		if (hp->current == NULL) {
			set_bad_header(error);
			return FALSE;
		}
		/* unfolding removes only the CRLF (RFC 5322 §2.2.3) */
		g_string_append_len(hp->current, line, (gssize)len);
		return TRUE;
	}
	colon = memchr(line, ':', len);
	if (colon == NULL) {
		set_bad_header(error);
		return FALSE;
	}
	/* obsolete syntax allows white space before the colon (RFC 5322 §4.5) */
	name_len = (gsize)(colon - line);
	while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
		name_len--;
	if (!header_name_valid(line, name_len)) {
		set_bad_header(error);
		return FALSE;
	}
	if (hp->current != NULL)
		g_ptr_array_add(hp->values, header_finish_value(hp->current));
	g_ptr_array_add(hp->names, g_strndup(line, name_len));
	hp->current = g_string_new_len(colon + 1, (gssize)(len - (gsize)(colon - line) - 1));
	return TRUE;
}

static gboolean
mail_parse_headers(MeMail *mail, const gchar *data, gsize len, const MeMailLimits *limits, GError **error)
{
	HeaderParse hp = {mail->names, mail->values, NULL};
	gsize pos = 0;
	gboolean ok = TRUE;

	while (pos < len) {
		const gchar *lf;
		gsize line_end, next;

		if (len - pos >= 2 && data[pos] == '\r' && data[pos + 1] == '\n') {
			pos += 2;
			break;
		}
		lf = memchr(data + pos, '\n', MIN(len - pos, limits->max_header_block + 2));
		line_end = lf != NULL ? (gsize)(lf - data) - 1 : len;
		next = lf != NULL ? line_end + 2 : len;
		if (next > limits->max_header_block) {
			set_too_large(error, "header block");
			ok = FALSE;
			break;
		}
		if (data[pos] != ' ' && data[pos] != '\t' && mail->names->len >= limits->max_headers) {
			set_too_large(error, "header count");
			ok = FALSE;
			break;
		}
		if (!mail_header_line(&hp, data + pos, line_end - pos, error)) {
			ok = FALSE;
			break;
		}
		pos = next;
	}
	if (hp.current != NULL) {
		if (ok)
			g_ptr_array_add(mail->values, header_finish_value(hp.current));
		else
			g_string_free(hp.current, TRUE);
	}
	if (!ok)
		return FALSE;
	if (mail->names->len == 0) {
		set_bad_header(error);
		return FALSE;
	}
	mail->body_offset = pos;
	return TRUE;
}

/* levels of containers below @object; stops counting once past @limit */
static guint
mime_depth(GMimeObject *object, guint limit, guint level)
{
	guint deepest = level;

	if (object == NULL || level > limit)
		return level;
	if (G_TYPE_CHECK_INSTANCE_TYPE(object, sym_g_mime_multipart_get_type())) {
		GMimeMultipart *multipart = (GMimeMultipart *)object;
		gint n = sym_g_mime_multipart_get_count(multipart);
		for (gint i = 0; i < n && deepest <= limit; i++) {
			GMimeObject *child = sym_g_mime_multipart_get_part(multipart, i);
			/* not inside MAX(), which would evaluate the walk twice per level */
			guint sub = mime_depth(child, limit, level + 1);
			deepest = MAX(deepest, sub);
		}
		return MAX(deepest, level + 1);
	}
	if (G_TYPE_CHECK_INSTANCE_TYPE(object, sym_g_mime_message_part_get_type())) {
		GMimeMessage *inner = sym_g_mime_message_part_get_message((GMimeMessagePart *)object);
		GMimeObject *part = inner != NULL ? sym_g_mime_message_get_mime_part(inner) : NULL;
		guint sub = mime_depth(part, limit, level + 1);
		return MAX(level + 1, sub);
	}
	return level;
}

static gboolean
mail_parse_mime(MeMail *mail, const MeMailLimits *limits, GError **error)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(mail->crlf, &len);
	g_autoptr(GMimeStream) stream = NULL;
	g_autoptr(GMimeParser) parser = NULL;
	g_autoptr(GMimeMessage) message = NULL;
	GMimeObject *top;
	g_autofree gchar *media_type = NULL;

	if (!mail_init_gmime(error))
		return FALSE;
	stream = sym_g_mime_stream_mem_new_with_buffer(data, len);
	parser = sym_g_mime_parser_new_with_stream(stream);
	sym_g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	message = sym_g_mime_parser_construct_message(parser, NULL);
	if (message == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the data handed over is not an email message */
				    _("The data is not a mail message."));
		return FALSE;
	}
	top = sym_g_mime_message_get_mime_part(message);
	if (mime_depth(top, limits->max_depth, 0) > limits->max_depth) {
		set_too_large(error, "MIME nesting");
		return FALSE;
	}
	if (top != NULL)
		media_type = sym_g_mime_content_type_get_mime_type(sym_g_mime_object_get_content_type(top));
	mail->media_type = g_ascii_strdown(media_type != NULL ? media_type : "text/plain", -1);

	/* success */
	return TRUE;
}

/**
 * me_mail_new_from_data:
 * @data: the raw message, LF or CRLF line ends, maybe with Thunderbird's prefix lines
 * @len: its size
 * @limits: (nullable): bounds; %NULL for the defaults
 * @error: (nullable): return location
 *
 * Parses a message.  Errors are %ME_ERROR_TOO_LARGE when a bound is passed and
 * %ME_ERROR_INVALID_DATA for what cannot be a mail message (a NUL or bare CR in the
 * header block, a header line without a colon, no header at all).
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
MeMail *
me_mail_new_from_data(const gchar *data, gsize len, const MeMailLimits *limits, GError **error)
{
	MeMailLimits lim;
	g_autoptr(MeMail) mail = NULL;
	gsize crlf_len = 0;
	const gchar *crlf;

	g_return_val_if_fail(data != NULL || len == 0, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	mail_limits_resolve(limits, &lim);
	if (len > lim.max_size) {
		set_too_large(error, "size");
		return NULL;
	}
	mail = g_new0(MeMail, 1);
	mail->names = g_ptr_array_new_with_free_func(g_free);
	mail->values = g_ptr_array_new_with_free_func(g_free);
	mail->prefix_len = mail_prefix_len(data, len);
	mail->crlf = mail_to_crlf(data + mail->prefix_len, len - mail->prefix_len);
	crlf = g_bytes_get_data(mail->crlf, &crlf_len);
	if (!mail_parse_headers(mail, crlf, crlf_len, &lim, error))
		return NULL;
	if (!mail_parse_mime(mail, &lim, error))
		return NULL;

	/* success */
	return g_steal_pointer(&mail);
}

/**
 * me_mail_new_from_bytes:
 * @raw: the raw message
 * @limits: (nullable): bounds; %NULL for the defaults
 * @error: (nullable): return location
 *
 * Like me_mail_new_from_data().
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
MeMail *
me_mail_new_from_bytes(GBytes *raw, const MeMailLimits *limits, GError **error)
{
	gsize len = 0;
	const gchar *data;

	g_return_val_if_fail(raw != NULL, NULL);
	data = g_bytes_get_data(raw, &len);
	return me_mail_new_from_data(data != NULL ? data : "", len, limits, error);
}

/**
 * me_mail_new_from_stream:
 * @stream: a stream with the raw message
 * @limits: (nullable): bounds; %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable
 * @error: (nullable): return location
 *
 * Reads at most one byte more than the size limit, then parses as
 * me_mail_new_from_data() does.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
MeMail *
me_mail_new_from_stream(GInputStream *stream,
			const MeMailLimits *limits,
			GCancellable *cancellable,
			GError **error)
{
	MeMailLimits lim;
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint8 chunk[16384];

	g_return_val_if_fail(G_IS_INPUT_STREAM(stream), NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	mail_limits_resolve(limits, &lim);
	for (;;) {
		g_autoptr(GError) error_local = NULL;
		gssize n = g_input_stream_read(stream, chunk, sizeof(chunk), cancellable, &error_local);
		if (n < 0) {
			me_error_convert(&error_local);
			g_propagate_prefixed_error(error, g_steal_pointer(&error_local),
						   "failed to read the message: ");
			return NULL;
		}
		if (n == 0)
			break;
		if ((gsize)n > lim.max_size - buf->len) {
			set_too_large(error, "size");
			return NULL;
		}
		g_byte_array_append(buf, chunk, (guint)n);
	}
	return me_mail_new_from_data((const gchar *)buf->data, buf->len, &lim, error);
}

/**
 * me_mail_free:
 * @mail: (nullable): a message
 */
void
me_mail_free(MeMail *mail)
{
	if (mail == NULL)
		return;
	g_clear_pointer(&mail->crlf, g_bytes_unref);
	g_clear_pointer(&mail->names, g_ptr_array_unref);
	g_clear_pointer(&mail->values, g_ptr_array_unref);
	g_free(mail->media_type);
	g_free(mail);
}

/**
 * me_mail_get_crlf:
 * @mail: a message
 *
 * The message as received, without Thunderbird's prefix lines, every line ending in
 * CRLF.  This is what DKIM and S/MIME verification must see.
 *
 * Returns: (transfer none): the bytes
 */
GBytes *
me_mail_get_crlf(MeMail *mail)
{
	g_return_val_if_fail(mail != NULL, NULL);
	return mail->crlf;
}

/**
 * me_mail_get_stripped_prefix_len:
 * @mail: a message
 *
 * Returns: how many bytes of prefix lines (`From `, `X-Mozilla-*`) were dropped
 */
gsize
me_mail_get_stripped_prefix_len(MeMail *mail)
{
	g_return_val_if_fail(mail != NULL, 0);
	return mail->prefix_len;
}

/**
 * me_mail_get_n_headers:
 * @mail: a message
 *
 * Returns: the number of header fields, top to bottom
 */
guint
me_mail_get_n_headers(MeMail *mail)
{
	g_return_val_if_fail(mail != NULL, 0);
	return mail->names->len;
}

/**
 * me_mail_get_header_name:
 * @mail: a message
 * @idx: a field index, 0 is the topmost
 *
 * Returns: (transfer none): the field name as written
 */
const gchar *
me_mail_get_header_name(MeMail *mail, guint idx)
{
	g_return_val_if_fail(mail != NULL && idx < mail->names->len, NULL);
	return g_ptr_array_index(mail->names, idx);
}

/**
 * me_mail_get_header_value:
 * @mail: a message
 * @idx: a field index, 0 is the topmost
 *
 * Returns: (transfer none): the unfolded value without surrounding white space; not
 *   decoded and not checked to be UTF-8
 */
const gchar *
me_mail_get_header_value(MeMail *mail, guint idx)
{
	g_return_val_if_fail(mail != NULL && idx < mail->values->len, NULL);
	return g_ptr_array_index(mail->values, idx);
}

/**
 * me_mail_get_header:
 * @mail: a message
 * @name: a field name, matched case-insensitively
 *
 * Returns: (transfer none) (nullable): the first (topmost) value of @name, unfolded
 */
const gchar *
me_mail_get_header(MeMail *mail, const gchar *name)
{
	g_return_val_if_fail(mail != NULL && name != NULL, NULL);
	for (guint i = 0; i < mail->names->len; i++) {
		if (g_ascii_strcasecmp(g_ptr_array_index(mail->names, i), name) == 0)
			return g_ptr_array_index(mail->values, i);
	}
	return NULL;
}

/**
 * me_mail_count_header:
 * @mail: a message
 * @name: a field name, matched case-insensitively
 *
 * Returns: how many fields named @name the message has
 */
guint
me_mail_count_header(MeMail *mail, const gchar *name)
{
	guint n = 0;

	g_return_val_if_fail(mail != NULL && name != NULL, 0);
	for (guint i = 0; i < mail->names->len; i++) {
		if (g_ascii_strcasecmp(g_ptr_array_index(mail->names, i), name) == 0)
			n++;
	}
	return n;
}

/**
 * me_mail_has_header_prefix:
 * @mail: a message
 * @prefix: the start of a field name, e.g. `List-`, matched case-insensitively
 *
 * Returns: %TRUE if any field name starts with @prefix
 */
gboolean
me_mail_has_header_prefix(MeMail *mail, const gchar *prefix)
{
	gsize plen;

	g_return_val_if_fail(mail != NULL && prefix != NULL, FALSE);
	plen = strlen(prefix);
	for (guint i = 0; i < mail->names->len; i++) {
		if (g_ascii_strncasecmp(g_ptr_array_index(mail->names, i), prefix, plen) == 0)
			return TRUE;
	}
	return FALSE;
}

/**
 * me_addr_spec_is_valid:
 * @addr_spec: (nullable): an address without display name or angle brackets
 *
 * A deliberately plain check: UTF-8, one `@`, a non-empty local part, a domain of
 * non-empty labels, no white space or control characters.
 *
 * Returns: %TRUE if @addr_spec may be compared and written into a header
 */
gboolean
me_addr_spec_is_valid(const gchar *addr_spec)
{
	const gchar *at;
	const gchar *domain;

	if (addr_spec == NULL || !g_utf8_validate(addr_spec, -1, NULL))
		return FALSE;
	if (strlen(addr_spec) > 254 * 4)
		return FALSE;
	for (const gchar *p = addr_spec; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';')
			return FALSE;
	}
	at = strrchr(addr_spec, '@');
	if (at == NULL || at == addr_spec || at[1] == '\0')
		return FALSE;
	domain = at + 1;
	if (domain[0] == '.' || g_str_has_suffix(domain, ".") || strstr(domain, "..") != NULL)
		return FALSE;
	/* a quoted local part could hide an '@'; we have no use for one */
	if (memchr(addr_spec, '@', (gsize)(at - addr_spec)) != NULL || addr_spec[0] == '"')
		return FALSE;
	return strpbrk(domain, "\"()[]\\:") == NULL;
}

/**
 * me_addr_spec_get_domain:
 * @addr_spec: an addr-spec
 *
 * Returns: (transfer none) (nullable): the part after the last `@`
 */
const gchar *
me_addr_spec_get_domain(const gchar *addr_spec)
{
	const gchar *at;

	g_return_val_if_fail(addr_spec != NULL, NULL);
	at = strrchr(addr_spec, '@');
	return at != NULL ? at + 1 : NULL;
}

/**
 * me_addr_spec_equal:
 * @a: (nullable): an addr-spec
 * @b: (nullable): another
 *
 * Compares as RFC 8823 needs: the local part exactly, the domain without regard to ASCII
 * case.  Nothing else is folded: a U-label and its A-label, or a trailing dot, differ.
 *
 * Returns: %TRUE if both are valid and name the same mailbox
 */
gboolean
me_addr_spec_equal(const gchar *a, const gchar *b)
{
	const gchar *at_a, *at_b;

	if (!me_addr_spec_is_valid(a) || !me_addr_spec_is_valid(b))
		return FALSE;
	at_a = strrchr(a, '@');
	at_b = strrchr(b, '@');
	if (at_a - a != at_b - b || memcmp(a, b, (gsize)(at_a - a)) != 0)
		return FALSE;
	return g_ascii_strcasecmp(at_a + 1, at_b + 1) == 0;
}

static void
address_list_flatten(InternetAddressList *list, GPtrArray *out, gboolean in_group)
{
	gint n = sym_internet_address_list_length(list);

	for (gint i = 0; i < n && out->len <= MAIL_MAX_ADDRESSES; i++) {
		InternetAddress *addr = sym_internet_address_list_get_address(list, i);
		if (G_TYPE_CHECK_INSTANCE_TYPE(addr, sym_internet_address_mailbox_get_type())) {
			const gchar *spec = sym_internet_address_mailbox_get_addr((InternetAddressMailbox *)addr);
			g_ptr_array_add(out, g_strdup(spec != NULL ? spec : ""));
		} else if (G_TYPE_CHECK_INSTANCE_TYPE(addr, sym_internet_address_group_get_type()) && !in_group) {
			address_list_flatten(sym_internet_address_group_get_members((InternetAddressGroup *)addr),
					     out, TRUE);
		} else {
			/* a group inside a group: count it so the caller sees something is off */
			g_ptr_array_add(out, g_strdup(""));
		}
	}
}

/* the text of @value outside quoted strings and comments, where GMime's reading of an
 * address list must be visible as written; %NULL when a quoted string or a comment is
 * left open, which GMime reads differently from us (and, in strict mode, down a path
 * that leaks: `""",d>`) */
static gchar *
address_skeleton(const gchar *value)
{
	g_autoptr(GString) out = g_string_new(NULL);
	gboolean quoted = FALSE;
	guint comment = 0;

	for (const gchar *p = value; *p != '\0'; p++) {
		if (*p == '\\' && (quoted || comment > 0)) {
			if (p[1] == '\0')
				return NULL;
			p++;
			continue;
		}
		if (comment == 0 && *p == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && *p == '(') {
			comment++;
			continue;
		}
		if (!quoted && comment > 0 && *p == ')') {
			comment--;
			continue;
		}
		if (!quoted && comment == 0)
			g_string_append_c(out, *p);
	}
	if (quoted || comment > 0)
		return NULL;
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* one list element as written: the text in angle brackets, else the whole element,
 * a group's "name:" and ";" dropped */
static gchar *
address_element_spec(const gchar *element)
{
	const gchar *colon = strchr(element, ':');
	const gchar *lt;
	g_autofree gchar *rest = g_strdup(colon != NULL ? colon + 1 : element);

	g_strstrip(g_strdelimit(rest, ";", ' '));
	lt = strchr(rest, '<');
	if (lt != NULL) {
		const gchar *gt = strchr(lt, '>');
		if (gt == NULL || gt == lt + 1 || gt[1] != '\0' || strchr(lt + 1, '<') != NULL)
			return g_strdup("<invalid>");
		return g_strndup(lt + 1, (gsize)(gt - lt - 1));
	}
	return g_steal_pointer(&rest);
}

static gboolean
phrase_plausible(const gchar *phrase, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		if (strchr("@<>[]:;\\", phrase[i]) != NULL)
			return FALSE;
	}
	return TRUE;
}

/* one element of an address list, quoted strings and comments already gone */
static gboolean
element_plausible(const gchar *element)
{
	g_autofree gchar *e = g_strstrip(g_strdup(element));
	const gchar *colon = strchr(e, ':');
	const gchar *rest = e;
	const gchar *lt;
	const gchar *gt;
	g_autofree gchar *inner = NULL;
	g_autofree gchar *bare = NULL;

	if (colon != NULL) {
		if (!phrase_plausible(e, (gsize)(colon - e)))
			return FALSE;
		rest = colon + 1;
	}
	bare = g_strstrip(g_strdup(rest));
	/* a group ends in ';', in this element or a later one */
	if (g_str_has_suffix(bare, ";"))
		bare[strlen(bare) - 1] = '\0';
	g_strstrip(bare);
	if (bare[0] == '\0')
		return colon != NULL;
	lt = strchr(bare, '<');
	if (lt == NULL)
		return me_addr_spec_is_valid(bare);
	gt = strchr(lt, '>');
	if (!phrase_plausible(bare, (gsize)(lt - bare)) || gt == NULL || gt[1] != '\0')
		return FALSE;
	inner = g_strndup(lt + 1, (gsize)(gt - lt - 1));
	return me_addr_spec_is_valid(inner);
}

/* GMime 3.2 leaks on several malformed lists in strict mode: address_parse() drops the
 * addr-spec and name it has read when an '@' in an unquoted display name is followed by
 * '<', or a bare addr-spec by a stray '>' (129 bytes a time); so a list that cannot be
 * RFC 5322 is refused before GMime sees it.  An empty skeleton is refused too: a list
 * that is nothing but quoted strings and comments holds no address, and g_strsplit()
 * would hand back no element to check */
static gboolean
addresses_plausible(const gchar *value)
{
	g_autofree gchar *skel = address_skeleton(value);
	g_auto(GStrv) parts = NULL;

	if (skel == NULL || skel[0] == '\0')
		return FALSE;
	parts = g_strsplit(skel, ",", -1);
	for (guint i = 0; parts[i] != NULL; i++) {
		if (!element_plausible(parts[i]))
			return FALSE;
	}
	return TRUE;
}

/* GMime reads almost anything as an address; insist that every addr-spec it found is
 * literally there, in angle brackets or as the whole list element */
static gboolean
addresses_match_text(const gchar *value, GPtrArray *addrs)
{
	g_autofree gchar *skel = address_skeleton(value);
	g_auto(GStrv) parts = NULL;
	guint n = 0;

	if (skel == NULL)
		return FALSE;
	parts = g_strsplit(skel, ",", -1);

	for (guint i = 0; parts[i] != NULL; i++) {
		g_autofree gchar *spec = address_element_spec(parts[i]);
		if (spec[0] == '\0')
			continue;
		if (n >= addrs->len || g_strcmp0(spec, g_ptr_array_index(addrs, n)) != 0)
			return FALSE;
		n++;
	}
	return n == addrs->len;
}

static void
set_bad_address(GError **error, const gchar *name)
{
	g_set_error(error, ME_ERROR, ME_ERROR_INVALID_DATA,
		    /* TRANSLATORS: %s is a mail header name such as From or To */
		    _("The %s header of the message does not hold valid addresses."), name);
}

/**
 * me_mail_get_addresses:
 * @mail: a message
 * @name: `From`, `To`, `Cc`, `Reply-To`, `Sender`...
 * @error: (nullable): return location
 *
 * The addr-specs of every @name field, in order, groups flattened.  A value that is
 * empty or not UTF-8, that cannot be an RFC 5322 address list (an '@' in an unquoted
 * display name, a stray angle bracket), that GMime cannot read, or whose addresses do
 * not appear in it literally, is %ME_ERROR_INVALID_DATA; a missing field is
 * %ME_ERROR_NOT_FOUND.
 *
 * Returns: (transfer full) (element-type utf8): the addr-specs, or %NULL with @error set
 */
GPtrArray *
me_mail_get_addresses(MeMail *mail, const gchar *name, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GMimeParserOptions) options = NULL;
	gboolean found = FALSE;

	g_return_val_if_fail(mail != NULL && name != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!mail_init_gmime(error))
		return NULL;
	options = sym_g_mime_parser_options_new();
	sym_g_mime_parser_options_set_address_compliance_mode(options, GMIME_RFC_COMPLIANCE_STRICT);
	for (guint i = 0; i < mail->names->len; i++) {
		const gchar *value = g_ptr_array_index(mail->values, i);
		g_autoptr(InternetAddressList) list = NULL;
		g_autoptr(GPtrArray) addrs = NULL;

		if (g_ascii_strcasecmp(g_ptr_array_index(mail->names, i), name) != 0)
			continue;
		found = TRUE;
		if (value[0] == '\0' || !g_utf8_validate(value, -1, NULL) || !addresses_plausible(value)) {
			set_bad_address(error, name);
			return NULL;
		}
		list = sym_internet_address_list_parse(options, value);
		addrs = g_ptr_array_new_with_free_func(g_free);
		if (list != NULL)
			address_list_flatten(list, addrs, FALSE);
		if (!addresses_match_text(value, addrs)) {
			set_bad_address(error, name);
			return NULL;
		}
		for (guint j = 0; j < addrs->len; j++) {
			if (!me_addr_spec_is_valid(g_ptr_array_index(addrs, j)) ||
			    out->len >= MAIL_MAX_ADDRESSES) {
				set_bad_address(error, name);
				return NULL;
			}
			g_ptr_array_add(out, g_strdup(g_ptr_array_index(addrs, j)));
		}
	}
	if (!found) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: %s is a mail header name such as From or To */
			    _("The message has no %s header."), name);
		return NULL;
	}
	return g_steal_pointer(&out);
}

static gint
hex_value(gchar c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static gboolean
decode_q(const gchar *text, GString *out)
{
	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == '_') {
			g_string_append_c(out, ' ');
		} else if (*p == '=') {
			gint hi = hex_value(p[1]);
			gint lo = hi >= 0 ? hex_value(p[2]) : -1;
			if (lo < 0)
				return FALSE;
			g_string_append_c(out, (gchar)(hi * 16 + lo));
			p += 2;
		} else if ((guchar)*p > ' ' && (guchar)*p < 0x7f) {
			g_string_append_c(out, *p);
		} else {
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean
decode_b(const gchar *text, GString *out)
{
	gsize len = strlen(text);
	gsize pad = 0;
	gsize out_len = 0;
	g_autofree guchar *raw = NULL;

	if (len == 0 || len % 4 != 0)
		return FALSE;
	while (pad < 2 && pad < len && text[len - 1 - pad] == '=')
		pad++;
	for (gsize i = 0; i < len - pad; i++) {
		if (!g_ascii_isalnum(text[i]) && text[i] != '+' && text[i] != '/')
			return FALSE;
	}
	raw = g_base64_decode(text, &out_len);
	g_string_append_len(out, (const gchar *)raw, (gssize)out_len);
	return TRUE;
}

typedef enum {
	EW_LITERAL,
	EW_DECODED,
	EW_BAD_CHARSET,
} EwResult;

/* one RFC 2047 encoded-word, with the RFC 2231 §5 language suffix on the charset */
static EwResult
decode_encoded_word(const gchar *word, GString *out, gchar **charset_out)
{
	gsize len = strlen(word);
	g_autofree gchar *inner = NULL;
	g_auto(GStrv) parts = NULL;
	gchar *star;
	gsize before = out->len;
	gboolean ascii;
	gboolean ok = FALSE;
	gchar enc;

	if (len < 8 || !g_str_has_prefix(word, "=?") || !g_str_has_suffix(word, "?="))
		return EW_LITERAL;
	inner = g_strndup(word + 2, len - 4);
	parts = g_strsplit(inner, "?", -1);
	if (g_strv_length(parts) != 3 || parts[0][0] == '\0' || strlen(parts[1]) != 1)
		return EW_LITERAL;
	star = strchr(parts[0], '*');
	if (star != NULL)
		*star = '\0';
	if (g_ascii_strcasecmp(parts[0], "utf-8") != 0 && g_ascii_strcasecmp(parts[0], "us-ascii") != 0) {
		*charset_out = g_strdup(parts[0]);
		return EW_BAD_CHARSET;
	}
	ascii = g_ascii_strcasecmp(parts[0], "us-ascii") == 0;
	enc = g_ascii_tolower(parts[1][0]);
	if (enc == 'q')
		ok = decode_q(parts[2], out);
	else if (enc == 'b')
		ok = decode_b(parts[2], out);
	if (!ok) {
		g_string_truncate(out, before);
		return EW_LITERAL;
	}
	for (gsize i = before; ascii && i < out->len; i++) {
		if ((guchar)out->str[i] >= 0x80) {
			*charset_out = g_strdup("us-ascii (8-bit data)");
			return EW_BAD_CHARSET;
		}
	}
	return EW_DECODED;
}

static gboolean
text_is_clean(const gchar *text, gsize len)
{
	if (!g_utf8_validate(text, (gssize)len, NULL))
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		guchar c = (guchar)text[i];
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return FALSE;
	}
	return TRUE;
}

/**
 * me_mail_decode_header_text:
 * @text: an unfolded unstructured header value (RFC 5322 §3.2.5)
 * @bad_charset: (out) (optional) (nullable): the first charset that is not UTF-8 or US-ASCII
 * @error: (nullable): return location
 *
 * Decodes RFC 2047 encoded-words (white space between two of them goes), allowing only
 * the UTF-8 and US-ASCII charsets, as RFC 8823 does.  A word that merely looks encoded
 * stays literal text.  Another charset is %ME_ERROR_NOT_SUPPORTED with @bad_charset set;
 * a result that is not UTF-8 or holds control characters is %ME_ERROR_INVALID_DATA.
 *
 * Returns: (transfer full): the decoded text, or %NULL with @error set
 */
gchar *
me_mail_decode_header_text(const gchar *text, gchar **bad_charset, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GString) pending_ws = g_string_new(NULL);
	gboolean last_encoded = FALSE;
	const gchar *p = text;

	g_return_val_if_fail(text != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	while (*p != '\0') {
		gsize ws = strspn(p, " \t");
		gsize wlen = strcspn(p + ws, " \t");
		g_autofree gchar *word = g_strndup(p + ws, wlen);
		g_autofree gchar *charset = NULL;
		gsize before = out->len;
		EwResult res;

		g_string_assign(pending_ws, "");
		g_string_append_len(pending_ws, p, (gssize)ws);
		p += ws + wlen;
		if (wlen == 0) {
			g_string_append(out, pending_ws->str);
			break;
		}
		g_string_append(out, last_encoded ? "" : pending_ws->str);
		before = out->len;
		res = decode_encoded_word(word, out, &charset);
		if (res == EW_BAD_CHARSET) {
			if (bad_charset != NULL)
				*bad_charset = g_steal_pointer(&charset);
			g_set_error_literal(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED,
					    /* TRANSLATORS: RFC 8823 allows only these two charsets */
					    _("The subject uses a character set other than UTF-8 or US-ASCII."));
			return NULL;
		}
		if (res == EW_LITERAL) {
			/* white space before a literal word stays, even after an encoded one */
			if (last_encoded)
				g_string_insert_len(out, (gssize)before, pending_ws->str, (gssize)pending_ws->len);
			g_string_append(out, word);
		}
		last_encoded = res == EW_DECODED;
	}
	if (!text_is_clean(out->str, out->len)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a mail header holds bytes that are not text */
				    _("A header of the message is not valid UTF-8 text."));
		return NULL;
	}
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/**
 * me_mail_get_subject:
 * @mail: a message
 * @bad_charset: (out) (optional) (nullable): see me_mail_decode_header_text()
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the decoded Subject, or %NULL with @error set
 *   (%ME_ERROR_NOT_FOUND when there is none)
 */
gchar *
me_mail_get_subject(MeMail *mail, gchar **bad_charset, GError **error)
{
	const gchar *value;

	g_return_val_if_fail(mail != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	value = me_mail_get_header(mail, "Subject");
	if (value == NULL) {
		g_set_error(error, ME_ERROR, ME_ERROR_NOT_FOUND,
			    /* TRANSLATORS: %s is a mail header name such as From or To */
			    _("The message has no %s header."), "Subject");
		return NULL;
	}
	return me_mail_decode_header_text(value, bad_charset, error);
}

static gboolean
msg_id_char_ok(guchar c)
{
	return c > ' ' && c != 0x7f && c != '<' && c != '>';
}

/* the msg-ids ("<left@right>") in @value, at most @max, in order */
static GPtrArray *
msg_ids_parse(const gchar *value, guint max)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	const gchar *p = value;

	while (p != NULL && out->len < max && (p = strchr(p, '<')) != NULL) {
		gsize n = 1;
		gboolean ok = TRUE;

		while (p[n] != '\0' && p[n] != '>') {
			if (!msg_id_char_ok((guchar)p[n]))
				ok = FALSE;
			n++;
		}
		if (p[n] != '>')
			break;
		if (ok && n > 1 && n < MAIL_LINE_MAX - 16 && g_utf8_validate(p, (gssize)n + 1, NULL))
			g_ptr_array_add(out, g_strndup(p, n + 1));
		p += n + 1;
	}
	return out;
}

static gchar *
mail_first_msg_id(MeMail *mail, const gchar *name)
{
	const gchar *value = me_mail_get_header(mail, name);
	g_autoptr(GPtrArray) ids = NULL;

	if (value == NULL)
		return NULL;
	ids = msg_ids_parse(value, 1);
	return ids->len > 0 ? g_strdup(g_ptr_array_index(ids, 0)) : NULL;
}

/**
 * me_mail_get_message_id:
 * @mail: a message
 *
 * Returns: (transfer full) (nullable): the Message-ID with its angle brackets
 */
gchar *
me_mail_get_message_id(MeMail *mail)
{
	g_return_val_if_fail(mail != NULL, NULL);
	return mail_first_msg_id(mail, "Message-ID");
}

/**
 * me_mail_get_in_reply_to:
 * @mail: a message
 *
 * Returns: (transfer full) (nullable): the first msg-id of In-Reply-To
 */
gchar *
me_mail_get_in_reply_to(MeMail *mail)
{
	g_return_val_if_fail(mail != NULL, NULL);
	return mail_first_msg_id(mail, "In-Reply-To");
}

/**
 * me_mail_get_references:
 * @mail: a message
 *
 * Returns: (transfer full) (nullable): the msg-ids of References, oldest first; %NULL
 *   when there are none
 */
GStrv
me_mail_get_references(MeMail *mail)
{
	const gchar *value;
	g_autoptr(GPtrArray) ids = NULL;

	g_return_val_if_fail(mail != NULL, NULL);
	value = me_mail_get_header(mail, "References");
	if (value == NULL)
		return NULL;
	ids = msg_ids_parse(value, MAIL_MAX_MSG_IDS);
	if (ids->len == 0)
		return NULL;
	g_ptr_array_add(ids, NULL);
	return (GStrv)g_ptr_array_steal(ids, NULL);
}

/**
 * me_mail_get_auto_submitted:
 * @mail: a message
 *
 * Returns: (transfer full) (nullable): the keyword of Auto-Submitted (RFC 3834 §5),
 *   lower case, without comments or parameters
 */
gchar *
me_mail_get_auto_submitted(MeMail *mail)
{
	const gchar *value;
	gsize n;

	g_return_val_if_fail(mail != NULL, NULL);
	value = me_mail_get_header(mail, "Auto-Submitted");
	if (value == NULL)
		return NULL;
	n = strcspn(value, ";(");
	return g_strstrip(g_ascii_strdown(value, (gssize)n));
}

/**
 * me_mail_get_date:
 * @mail: a message
 *
 * Returns: the Date as seconds since the epoch, or -1 when it is missing or unreadable
 */
gint64
me_mail_get_date(MeMail *mail)
{
	const gchar *value;
	g_autoptr(GDateTime) dt = NULL;

	g_return_val_if_fail(mail != NULL, -1);
	value = me_mail_get_header(mail, "Date");
	if (value == NULL || !g_utf8_validate(value, -1, NULL))
		return -1;
	/* loaded already when @mail was parsed */
	if (!mail_init_gmime(NULL))
		return -1;
	dt = sym_g_mime_utils_header_decode_date(value);
	if (dt == NULL)
		return -1;
	return g_date_time_to_unix(dt);
}

/**
 * me_mail_get_media_type:
 * @mail: a message
 *
 * Returns: (transfer none): the top-level media type, lower case, e.g. `text/plain`
 */
const gchar *
me_mail_get_media_type(MeMail *mail)
{
	g_return_val_if_fail(mail != NULL, NULL);
	return mail->media_type;
}

/**
 * me_mail_reply_new:
 *
 * Returns: (transfer full): an empty reply
 */
MeMailReply *
me_mail_reply_new(void)
{
	MeMailReply *reply = g_new0(MeMailReply, 1);
	reply->to = g_ptr_array_new_with_free_func(g_free);
	return reply;
}

/**
 * me_mail_reply_free:
 * @reply: (nullable): a reply
 */
void
me_mail_reply_free(MeMailReply *reply)
{
	if (reply == NULL)
		return;
	g_free(reply->from);
	g_clear_pointer(&reply->to, g_ptr_array_unref);
	g_free(reply->subject);
	g_free(reply->in_reply_to);
	g_free(reply->references);
	g_free(reply->message_id);
	g_free(reply->body);
	g_free(reply);
}

/**
 * me_mail_make_message_id:
 * @domain: the right-hand side, normally the sender's domain
 *
 * Returns: (transfer full): a new unique msg-id with angle brackets
 */
gchar *
me_mail_make_message_id(const gchar *domain)
{
	g_autofree gchar *uuid = g_uuid_string_random();

	g_return_val_if_fail(domain != NULL, NULL);
	return g_strdup_printf("<%" G_GINT64_FORMAT ".%s@%s>", g_get_real_time() / G_USEC_PER_SEC,
			       uuid, domain);
}

/* RFC 5322 §3.3 with English names whatever the locale */
static gchar *
format_date(gint64 unix_time)
{
	static const gchar *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const gchar *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(unix_time);

	if (dt == NULL)
		return NULL;
	return g_strdup_printf("%s, %d %s %d %02d:%02d:%02d +0000",
			       days[g_date_time_get_day_of_week(dt) - 1],
			       g_date_time_get_day_of_month(dt), months[g_date_time_get_month(dt) - 1],
			       g_date_time_get_year(dt), g_date_time_get_hour(dt),
			       g_date_time_get_minute(dt), g_date_time_get_second(dt));
}

static gboolean
header_text_ok(const gchar *text, gboolean allow_utf8)
{
	if (text == NULL || text[0] == '\0' || !g_utf8_validate(text, -1, NULL))
		return FALSE;
	for (const gchar *p = text; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (c < ' ' || c == 0x7f || (c >= 0x80 && !allow_utf8))
			return FALSE;
	}
	return TRUE;
}

static gboolean
body_ok(const gchar *body)
{
	gsize line = 0;

	for (const gchar *p = body; *p != '\0'; p++) {
		guchar c = (guchar)*p;
		if (c >= 0x80 || (c == '\r' && p[1] != '\n') || (c == '\n' && (p == body || p[-1] != '\r')))
			return FALSE;
		line = c == '\n' ? 0 : line + 1;
		if (line > MAIL_LINE_MAX + 1)
			return FALSE;
	}
	return g_str_has_suffix(body, "\r\n");
}

static gboolean
reply_fields_ok(const MeMailReply *reply)
{
	if (!me_addr_spec_is_valid(reply->from) || reply->to == NULL || reply->to->len == 0)
		return FALSE;
	for (guint i = 0; i < reply->to->len; i++) {
		if (!me_addr_spec_is_valid(g_ptr_array_index(reply->to, i)))
			return FALSE;
	}
	if (!header_text_ok(reply->subject, FALSE) || !header_text_ok(reply->message_id, TRUE))
		return FALSE;
	if (reply->in_reply_to != NULL && !header_text_ok(reply->in_reply_to, TRUE))
		return FALSE;
	if (reply->references != NULL && !header_text_ok(reply->references, TRUE))
		return FALSE;
	return reply->body != NULL && body_ok(reply->body);
}

/* "Name: a, b" with a fold before any item that would pass 78 characters */
static void
append_folded_list(GString *out, const gchar *name, const gchar *const *items, guint n, const gchar *sep)
{
	gsize line_start = out->len;

	g_string_append_printf(out, "%s: %s", name, items[0]);
	for (guint i = 1; i < n; i++) {
		gsize cur = out->len - line_start;
		g_string_append(out, sep);
		if (cur + strlen(sep) + 1 + strlen(items[i]) > MAIL_LINE_SOFT_MAX) {
			g_string_append(out, "\r\n");
			line_start = out->len;
		}
		g_string_append_printf(out, " %s", items[i]);
	}
	g_string_append(out, "\r\n");
}

static void
append_subject(GString *out, const gchar *subject)
{
	const gchar *fws = strstr(subject, "ACME: ");

	/* the token must stay whole; the FWS after ACME: is the one place to fold */
	if (strlen("Subject: ") + strlen(subject) <= MAIL_LINE_SOFT_MAX || fws == NULL) {
		g_string_append_printf(out, "Subject: %s\r\n", subject);
		return;
	}
	fws += strlen("ACME:");
	g_string_append(out, "Subject: ");
	g_string_append_len(out, subject, fws - subject);
	g_string_append_printf(out, "\r\n%s\r\n", fws);
}

static gboolean
lines_within_limit(const GString *out)
{
	gsize line = 0;

	for (gsize i = 0; i < out->len; i++) {
		line = out->str[i] == '\n' ? 0 : line + 1;
		if (line > MAIL_LINE_MAX + 1)
			return FALSE;
	}
	return TRUE;
}

static void
append_header_block(GString *out, const MeMailReply *reply, const gchar *date)
{
	g_auto(GStrv) refs = NULL;

	g_string_append_printf(out, "From: %s\r\n", reply->from);
	append_folded_list(out, "To", (const gchar *const *)reply->to->pdata, reply->to->len, ",");
	append_subject(out, reply->subject);
	g_string_append_printf(out, "Date: %s\r\n", date);
	g_string_append_printf(out, "Message-ID: %s\r\n", reply->message_id);
	if (reply->in_reply_to != NULL)
		g_string_append_printf(out, "In-Reply-To: %s\r\n", reply->in_reply_to);
	if (reply->references != NULL) {
		refs = g_strsplit(reply->references, " ", -1);
		append_folded_list(out, "References", (const gchar *const *)refs, g_strv_length(refs), "");
	}
	g_string_append(out, "MIME-Version: 1.0\r\n"
			     "Content-Type: text/plain; charset=us-ascii\r\n"
			     "Content-Transfer-Encoding: 7bit\r\n");
	/* RFC 3834 §5.2: never auto-generated on a reply; nothing when a person sent it */
	if (reply->auto_replied)
		g_string_append(out, "Auto-Submitted: auto-replied\r\n");
}

/**
 * me_mail_reply_serialize:
 * @reply: a reply
 * @error: (nullable): return location
 *
 * Writes @reply as an RFC 5322 message: CRLF only, `text/plain; charset=us-ascii`,
 * 7bit, no format=flowed, lines of at most 78 characters where the content allows (the
 * Subject is folded at the white space after `ACME:`), never more than 998.  No Cc and
 * no List-* fields are ever written.  A field holding a line break or another control
 * character, or a body that is not CRLF-terminated US-ASCII, is %ME_ERROR_INVALID_DATA.
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
GBytes *
me_mail_reply_serialize(const MeMailReply *reply, GError **error)
{
	g_autoptr(GString) out = g_string_new(NULL);
	g_autofree gchar *date = NULL;

	g_return_val_if_fail(reply != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	date = format_date(reply->date);
	if (!reply_fields_ok(reply) || date == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: an internal check before the reply mail is written */
				    _("The reply mail cannot be written from these values."));
		return NULL;
	}
	append_header_block(out, reply, date);
	g_string_append(out, "\r\n");
	g_string_append(out, reply->body);
	if (!lines_within_limit(out)) {
		set_too_large(error, "line length");
		return NULL;
	}
	return g_string_free_to_bytes(g_steal_pointer(&out));
}
