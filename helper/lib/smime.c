/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeSmime"

#include "config.h"

#include "smime.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/stat.h>

#include "autocleanups.h"
#include "file.h"
#include "keys.h"
#include "mail.h"

/*
 * S/MIME authenticity of an RFC 8823 challenge (standards §1.3 C7b).  This is the one file
 * that calls OpenSSL's CMS/SMIME API.  It reads header blocks itself with a small bounded
 * reader rather than GMime, so that the bytes it checks are exactly the bytes OpenSSL hashed.
 *
 * Header values are compared without RFC 2047 decoding: Subject must be byte-equal after
 * unfolding and trimming (so an encoded-word must be encoded identically on both sides), and
 * From/To compare addr-specs (local part exact, domain ASCII case-insensitive), ignoring
 * display names and comments.
 */

/* a header block larger than this is not mail: RFC 5322 lines are at most 998 octets */
#define ME_SMIME_MAX_HEADER_BYTES (256 * 1024)
#define ME_SMIME_MAX_HEADER_FIELDS 1000
/* addresses in one From/To, and entries of one RFC 7508 SecureHeaderFields */
#define ME_SMIME_MAX_ADDRESSES 100
#define ME_SMIME_MAX_SECURE_FIELDS 256

/* RFC 7508 §3.2 id-aa-secureHeaderFieldsIdentifier */
#define ME_SMIME_OID_SECURE_HEADERS "1.2.840.113549.1.9.16.2.55"

/* RFC 7508 HeaderFieldStatus; blocks of real header fields are always "duplicated" */
#define ME_SMIME_FIELD_DUPLICATED 0


typedef struct {
	gchar *name;
	GString *value; /* unfolded: the CRLF of each fold removed, its WSP kept */
	gint status;
} HeaderField;

/* the outer From, To and Subject the protected copies must match; any may be NULL */
typedef struct {
	const gchar *from;
	const gchar *to;
	const gchar *subject;
} Outer;

/* what a header-protection scheme looks at */
typedef struct {
	CMS_ContentInfo *cms;
	GBytes *content;
	GPtrArray *fields; /* the signed entity's header block, or NULL if unreadable */
	gsize body_offset;
} Signed;

typedef gboolean (*SchemeFunc)(const Signed *sd, const Outer *outer, gboolean *applies, gchar **reason);

static void
header_field_free(gpointer data)
{
	HeaderField *field = data;
	g_free(field->name);
	g_string_free(field->value, TRUE);
	g_free(field);
}

static HeaderField *
header_field_new(const gchar *name, gsize name_len, const gchar *value, gsize value_len)
{
	HeaderField *field = g_new0(HeaderField, 1);
	field->name = g_strndup(name, name_len);
	field->value = g_string_new_len(value, (gssize)value_len);
	field->status = ME_SMIME_FIELD_DUPLICATED;
	return field;
}

/**
 * me_smime_result_free:
 * @result: (nullable) (transfer full): a result of me_smime_verify()
 */
void
me_smime_result_free(MeSmimeResult *result)
{
	if (result == NULL)
		return;
	g_strfreev(result->signer_emails);
	g_free(result->scheme);
	g_free(result->reason);
	g_free(result);
}

static void
crypto_errors_drain(const gchar *what)
{
	unsigned long err;
	gchar buf[256];

	while ((err = ERR_get_error()) != 0) {
		ERR_error_string_n(err, buf, sizeof(buf));
		g_debug("%s: %s", what, buf);
	}
}

static gboolean
is_wsp(gchar c)
{
	return c == ' ' || c == '\t';
}

/* the end of the line at @pos without its CR LF, and in @next where the next line starts */
static gsize
line_end(const gchar *data, gsize len, gsize pos, gsize *next)
{
	const gchar *nl = memchr(data + pos, '\n', len - pos);
	gsize end;

	if (nl == NULL) {
		*next = len;
		return len;
	}
	end = (gsize)(nl - data);
	*next = end + 1;
	if (end > pos && data[end - 1] == '\r')
		end--;
	return end;
}

static gboolean
header_name_valid(const gchar *name, gsize len)
{
	if (len == 0)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (name[i] < 33 || name[i] > 126)
			return FALSE;
	}
	return TRUE;
}

static gboolean
header_line_add(GPtrArray *fields, const gchar *line, gsize len)
{
	const gchar *colon;

	if (is_wsp(line[0])) {
		/* a fold continues the previous field */
		if (fields->len == 0)
			return FALSE;
		g_string_append_len(((HeaderField *)g_ptr_array_index(fields, fields->len - 1))->value,
				    line,
				    (gssize)len);
		return TRUE;
	}
	colon = memchr(line, ':', len);
	if (colon == NULL || !header_name_valid(line, (gsize)(colon - line)))
		return FALSE;
	if (fields->len >= ME_SMIME_MAX_HEADER_FIELDS)
		return FALSE;
	g_ptr_array_add(fields,
			header_field_new(line, (gsize)(colon - line), colon + 1, len - (gsize)(colon - line) - 1));
	return TRUE;
}

/* reads the header block at the start of @data; the body starts at @body_offset */
static GPtrArray *
headers_parse(const gchar *data, gsize len, gsize *body_offset, GError **error)
{
	g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(header_field_free);
	gsize pos = 0;

	while (pos < len) {
		gsize next = 0;
		gsize end = line_end(data, len, pos, &next);

		if (end == pos) {
			*body_offset = next;
			return g_steal_pointer(&fields);
		}
		if (next > ME_SMIME_MAX_HEADER_BYTES || memchr(data + pos, '\0', end - pos) != NULL ||
		    !header_line_add(fields, data + pos, end - pos)) {
			g_set_error_literal(error,
					    ME_ERROR,
					    ME_ERROR_INVALID_DATA,
					    /* TRANSLATORS: a mail's header lines are malformed or far too long */
					    _("The message headers could not be read."));
			return NULL;
		}
		pos = next;
	}
	*body_offset = len;
	return g_steal_pointer(&fields);
}

/* the field called @name (case-insensitive), if there is exactly one; @count says how many */
static const HeaderField *
headers_lookup(GPtrArray *fields, const gchar *name, guint *count)
{
	const HeaderField *found = NULL;
	guint n = 0;

	for (guint i = 0; fields != NULL && i < fields->len; i++) {
		const HeaderField *field = g_ptr_array_index(fields, i);
		if (g_ascii_strcasecmp(field->name, name) == 0) {
			found = field;
			n++;
		}
	}
	if (count != NULL)
		*count = n;
	return n == 1 ? found : NULL;
}

static gchar *
strip_wsp(const gchar *text, gsize len)
{
	gsize start = 0;

	while (start < len && g_ascii_isspace(text[start]))
		start++;
	while (len > start && g_ascii_isspace(text[len - 1]))
		len--;
	return g_strndup(text + start, len - start);
}

/*
 * splits a structured header value at @sep outside quoted strings, comments and (for
 * addresses) angle brackets; NULL when the quoting is unbalanced or there are too many items
 */
static GPtrArray *
split_structured(const gchar *value, gchar sep, guint max_items)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	gboolean quoted = FALSE;
	guint comment = 0;
	gboolean angle = FALSE;
	const gchar *start = value;

	for (const gchar *p = value;; p++) {
		if (*p == '\0' || (*p == sep && !quoted && comment == 0 && !angle)) {
			if (items->len >= max_items)
				return NULL;
			g_ptr_array_add(items, strip_wsp(start, (gsize)(p - start)));
			if (*p == '\0')
				break;
			start = p + 1;
		} else if (*p == '\\' && (quoted || comment > 0) && p[1] != '\0') {
			p++;
		} else if (*p == '"' && comment == 0) {
			quoted = !quoted;
		} else if (!quoted && *p == '(') {
			comment++;
		} else if (!quoted && *p == ')' && comment > 0) {
			comment--;
		} else if (!quoted && comment == 0 && (*p == '<' || *p == '>')) {
			angle = *p == '<';
		}
	}
	if (quoted || comment > 0 || angle)
		return NULL;
	return g_steal_pointer(&items);
}

static gchar *
unquote(const gchar *text)
{
	gsize len = strlen(text);
	GString *out;

	if (len < 2 || text[0] != '"' || text[len - 1] != '"')
		return g_strdup(text);
	out = g_string_sized_new(len);
	for (gsize i = 1; i < len - 1; i++) {
		if (text[i] == '\\' && i + 1 < len - 1)
			i++;
		g_string_append_c(out, text[i]);
	}
	return g_string_free(out, FALSE);
}

/* "type/subtype" in lower case and a table of its parameters (lower-case names) */
static gchar *
content_type_parse(const gchar *value, GHashTable **params)
{
	g_autoptr(GPtrArray) items = split_structured(value, ';', 64);
	g_autoptr(GHashTable) table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	if (items == NULL || items->len == 0)
		return NULL;
	for (guint i = 1; i < items->len; i++) {
		const gchar *item = g_ptr_array_index(items, i);
		const gchar *eq = strchr(item, '=');
		g_autofree gchar *name = NULL;
		g_autofree gchar *raw = NULL;

		if (eq == NULL)
			continue;
		name = strip_wsp(item, (gsize)(eq - item));
		raw = strip_wsp(eq + 1, strlen(eq + 1));
		g_hash_table_replace(table, g_ascii_strdown(name, -1), unquote(raw));
	}
	*params = g_steal_pointer(&table);
	return g_ascii_strdown(g_ptr_array_index(items, 0), -1);
}

/* an item of an address list with comments removed (quoted strings kept) */
static gchar *
strip_comments(const gchar *item)
{
	GString *out = g_string_sized_new(strlen(item));
	gboolean quoted = FALSE;
	guint comment = 0;

	for (const gchar *p = item; *p != '\0'; p++) {
		if (*p == '\\' && (quoted || comment > 0) && p[1] != '\0') {
			if (comment == 0)
				g_string_append_len(out, p, 2);
			p++;
			continue;
		}
		if (*p == '"' && comment == 0)
			quoted = !quoted;
		else if (*p == '(' && !quoted)
			comment++;
		else if (*p == ')' && !quoted && comment > 0) {
			comment--;
			continue;
		}
		if (comment == 0)
			g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/* the last occurrence of @c outside quoted strings, or NULL */
static const gchar *
find_unquoted(const gchar *text, gchar c, gboolean last)
{
	const gchar *found = NULL;
	gboolean quoted = FALSE;

	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == '\\' && quoted && p[1] != '\0') {
			p++;
		} else if (*p == '"') {
			quoted = !quoted;
		} else if (*p == c && !quoted) {
			found = p;
			if (!last)
				break;
		}
	}
	return found;
}

/*
 * the addr-spec of one mailbox ("Name <a@b>", "a@b", "group: a@b"); "" for an empty group,
 * NULL when it is not an address
 */
static gchar *
addr_spec_extract(const gchar *item)
{
	g_autofree gchar *plain = strip_comments(item);
	const gchar *lt = find_unquoted(plain, '<', FALSE);
	const gchar *colon;
	g_autofree gchar *spec = NULL;

	if (lt != NULL) {
		const gchar *gt = find_unquoted(lt, '>', FALSE);
		if (gt == NULL)
			return NULL;
		spec = strip_wsp(lt + 1, (gsize)(gt - lt - 1));
	} else {
		/* a group's display name and its closing ";" are not part of the address */
		colon = find_unquoted(plain, ':', TRUE);
		spec = strip_wsp(colon != NULL ? colon + 1 : plain, strlen(colon != NULL ? colon + 1 : plain));
		if (g_str_has_suffix(spec, ";"))
			spec[strlen(spec) - 1] = '\0';
	}
	g_strstrip(spec);
	if (spec[0] == '\0')
		return g_strdup("");
	if (find_unquoted(spec, '@', TRUE) == NULL)
		return NULL;
	return g_steal_pointer(&spec);
}

/* the addr-specs of an address list, or NULL when any item is not an address */
static GPtrArray *
address_list_parse(const gchar *value)
{
	g_autoptr(GPtrArray) items = NULL;
	g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func(g_free);

	if (value == NULL)
		return NULL;
	items = split_structured(value, ',', ME_SMIME_MAX_ADDRESSES);
	if (items == NULL)
		return NULL;
	for (guint i = 0; i < items->len; i++) {
		gchar *spec = addr_spec_extract(g_ptr_array_index(items, i));
		if (spec == NULL)
			return NULL;
		if (spec[0] == '\0') {
			g_free(spec);
			continue;
		}
		g_ptr_array_add(specs, spec);
	}
	return specs->len > 0 ? g_steal_pointer(&specs) : NULL;
}

static gboolean
address_lists_equal(const gchar *a, const gchar *b)
{
	g_autoptr(GPtrArray) list_a = address_list_parse(a);
	g_autoptr(GPtrArray) list_b = address_list_parse(b);

	if (list_a == NULL || list_b == NULL || list_a->len != list_b->len)
		return FALSE;
	for (guint i = 0; i < list_a->len; i++) {
		if (!me_addr_spec_equal(g_ptr_array_index(list_a, i), g_ptr_array_index(list_b, i)))
			return FALSE;
	}
	return TRUE;
}

/* unfolded and trimmed; with @relaxed, runs of WSP become one space (RFC 7508 relaxed) */
static gchar *
value_normalize(const gchar *value, gboolean relaxed)
{
	g_autofree gchar *trimmed = NULL;
	GString *out;

	/* CR and LF are dropped: a fold is CRLF followed by WSP, which stays */
	out = g_string_sized_new(strlen(value));
	for (const gchar *p = value; *p != '\0'; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		if (relaxed && is_wsp(*p) && out->len > 0 && out->str[out->len - 1] == ' ')
			continue;
		g_string_append_c(out, relaxed && is_wsp(*p) ? ' ' : *p);
	}
	trimmed = g_string_free(out, FALSE);
	return strip_wsp(trimmed, strlen(trimmed));
}

static gboolean
field_values_equal(const gchar *name, const gchar *protected_value, const gchar *outer, gboolean relaxed)
{
	g_autofree gchar *a = NULL;
	g_autofree gchar *b = NULL;

	if (outer == NULL)
		return FALSE;
	if (g_ascii_strcasecmp(name, "Subject") != 0)
		return address_lists_equal(protected_value, outer);
	/* no RFC 2047 decoding here: encoded-words must be byte-equal too */
	a = value_normalize(protected_value, relaxed);
	b = value_normalize(outer, relaxed);
	return g_strcmp0(a, b) == 0;
}

/* From, To and Subject are each protected once, and equal the outer ones */
static gboolean
protected_fields_check(GPtrArray *fields, const Outer *outer, gboolean relaxed, gchar **reason)
{
	const gchar *names[] = {"From", "To", "Subject"};
	const gchar *values[] = {outer->from, outer->to, outer->subject};

	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		guint count = 0;
		const HeaderField *field = headers_lookup(fields, names[i], &count);

		if (count == 0) {
			/* TRANSLATORS: %s is a mail header name such as "From" */
			*reason = g_strdup_printf(_("The signature does not protect the %s header."), names[i]);
			return FALSE;
		}
		if (count > 1) {
			/* TRANSLATORS: %s is a mail header name such as "From" */
			*reason = g_strdup_printf(_("The signature protects more than one %s header."), names[i]);
			return FALSE;
		}
		if (field->status != ME_SMIME_FIELD_DUPLICATED ||
		    !field_values_equal(names[i], field->value->str, values[i], relaxed)) {
			*reason = g_strdup_printf(
			    /* TRANSLATORS: %s is a mail header name such as "From" */
			    _("The signed %s header differs from the one the message shows."),
			    names[i]);
			return FALSE;
		}
	}
	return TRUE;
}

/* RFC 9788: the signed part's own header block holds the protected fields, marked hp= */
static gboolean
scheme_rfc9788(const Signed *sd, const Outer *outer, gboolean *applies, gchar **reason)
{
	const HeaderField *ct = headers_lookup(sd->fields, "Content-Type", NULL);
	g_autoptr(GHashTable) params = NULL;
	g_autofree gchar *type = NULL;
	const gchar *hp;

	if (ct == NULL || (type = content_type_parse(ct->value->str, &params)) == NULL)
		return FALSE;
	hp = g_hash_table_lookup(params, "hp");
	if (hp == NULL || (g_ascii_strcasecmp(hp, "clear") != 0 && g_ascii_strcasecmp(hp, "cipher") != 0))
		return FALSE;
	*applies = TRUE;
	return protected_fields_check(sd->fields, outer, FALSE, reason);
}

/* RFC 8551 §3.1: the signed part is a message/rfc822 whose headers are the protected ones */
static gboolean
scheme_rfc8551(const Signed *sd, const Outer *outer, gboolean *applies, gchar **reason)
{
	const HeaderField *ct = headers_lookup(sd->fields, "Content-Type", NULL);
	const HeaderField *cte = headers_lookup(sd->fields, "Content-Transfer-Encoding", NULL);
	g_autoptr(GHashTable) params = NULL;
	g_autoptr(GPtrArray) inner = NULL;
	g_autofree gchar *type = NULL;
	g_autofree gchar *encoding = NULL;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(sd->content, &len);
	gsize inner_body = 0;

	if (ct == NULL || (type = content_type_parse(ct->value->str, &params)) == NULL ||
	    g_strcmp0(type, "message/rfc822") != 0)
		return FALSE;
	*applies = TRUE;
	/* RFC 2046 §5.2.1: message/rfc822 is never base64 or quoted-printable */
	encoding = cte != NULL ? value_normalize(cte->value->str, FALSE) : g_strdup("7bit");
	if (g_ascii_strcasecmp(encoding, "7bit") != 0 && g_ascii_strcasecmp(encoding, "8bit") != 0 &&
	    g_ascii_strcasecmp(encoding, "binary") != 0) {
		/* TRANSLATORS: the signed copy of a mail is encoded in a way mail forbids */
		*reason = g_strdup(_("The signed copy of the message headers is encoded in a way that is not allowed."));
		return FALSE;
	}
	inner = headers_parse(data + sd->body_offset, len - sd->body_offset, &inner_body, NULL);
	if (inner == NULL) {
		/* TRANSLATORS: the signed copy of a mail's headers is malformed */
		*reason = g_strdup(_("The signed copy of the message headers could not be read."));
		return FALSE;
	}
	return protected_fields_check(inner, outer, FALSE, reason);
}

static gboolean
der_next(const guchar **p, glong *left, gint want_tag, gboolean want_constructed, glong *len)
{
	const guchar *start = *p;
	long l = 0;
	int tag = 0;
	int xclass = 0;
	int ret = ASN1_get_object(p, &l, &tag, &xclass, *left);

	/* 0x80 is an error (including a length past the end), 0x01 the indefinite form */
	if ((ret & 0x80) != 0 || (ret & 0x01) != 0) {
		ERR_clear_error();
		return FALSE;
	}
	if (xclass != V_ASN1_UNIVERSAL || tag != want_tag ||
	    ((ret & V_ASN1_CONSTRUCTED) != 0) != want_constructed)
		return FALSE;
	*left -= *p - start;
	if (l < 0 || l > *left)
		return FALSE;
	*len = l;
	return TRUE;
}

/* the tag of the next element, without consuming it */
static gint
der_peek_tag(const guchar *p, glong left)
{
	return left > 0 ? (p[0] & 0x1f) : -1;
}

static gboolean
der_small_int(const guchar **p, glong *left, gint tag, gint max, gint *value)
{
	glong len = 0;

	if (!der_next(p, left, tag, FALSE, &len) || len != 1 || (*p)[0] > max)
		return FALSE;
	*value = (*p)[0];
	*p += 1;
	*left -= 1;
	return TRUE;
}

static gboolean
name_is_visible(const guchar *name, glong len)
{
	for (glong i = 0; i < len; i++) {
		if (name[i] < 33 || name[i] > 126 || name[i] == ':')
			return FALSE;
	}
	return len > 0;
}

/* RFC 7508 HeaderField ::= SEQUENCE { VisibleString, UTF8String, INTEGER DEFAULT duplicated } */
static HeaderField *
secure_field_decode(const guchar *p, glong left)
{
	glong name_len = 0;
	glong value_len = 0;
	const guchar *name;
	const guchar *value;
	HeaderField *field;

	if (!der_next(&p, &left, V_ASN1_VISIBLESTRING, FALSE, &name_len) || !name_is_visible(p, name_len))
		return NULL;
	name = p;
	p += name_len;
	left -= name_len;
	if (!der_next(&p, &left, V_ASN1_UTF8STRING, FALSE, &value_len) ||
	    memchr(p, '\0', (gsize)value_len) != NULL || !g_utf8_validate((const gchar *)p, value_len, NULL))
		return NULL;
	value = p;
	p += value_len;
	left -= value_len;
	field = header_field_new((const gchar *)name, (gsize)name_len, (const gchar *)value, (gsize)value_len);
	if (left > 0 && !der_small_int(&p, &left, V_ASN1_INTEGER, 2, &field->status)) {
		header_field_free(field);
		return NULL;
	}
	if (left != 0) {
		header_field_free(field);
		return NULL;
	}
	return field;
}

/* RFC 7508 HeaderFields ::= SEQUENCE SIZE (1..max-header-fields) OF HeaderField */
static GPtrArray *
secure_fields_decode(const guchar *p, glong left)
{
	g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func(header_field_free);

	while (left > 0) {
		glong len = 0;
		HeaderField *field;

		if (fields->len >= ME_SMIME_MAX_SECURE_FIELDS || !der_next(&p, &left, V_ASN1_SEQUENCE, TRUE, &len))
			return NULL;
		field = secure_field_decode(p, len);
		if (field == NULL)
			return NULL;
		g_ptr_array_add(fields, field);
		p += len;
		left -= len;
	}
	return fields->len > 0 ? g_steal_pointer(&fields) : NULL;
}

/*
 * RFC 7508 SecureHeaderFields ::= SET { canonAlgorithm ENUMERATED, secHeaderFields HeaderFields };
 * a SET, so either order is accepted
 */
static GPtrArray *
secure_headers_decode(const guchar *p, glong left, gboolean *relaxed)
{
	g_autoptr(GPtrArray) fields = NULL;
	glong set_len = 0;
	gint canon = -1;

	if (!der_next(&p, &left, V_ASN1_SET, TRUE, &set_len) || set_len != left)
		return NULL;
	while (left > 0) {
		glong len = 0;
		if (der_peek_tag(p, left) == V_ASN1_ENUMERATED && canon < 0) {
			if (!der_small_int(&p, &left, V_ASN1_ENUMERATED, 1, &canon))
				return NULL;
			continue;
		}
		if (fields != NULL || !der_next(&p, &left, V_ASN1_SEQUENCE, TRUE, &len))
			return NULL;
		fields = secure_fields_decode(p, len);
		if (fields == NULL)
			return NULL;
		p += len;
		left -= len;
	}
	if (canon < 0 || fields == NULL)
		return NULL;
	*relaxed = canon == 1;
	return g_steal_pointer(&fields);
}

/* the decoded secure-header attribute of @si; @present says whether it had one at all */
static GPtrArray *
secure_headers_from_signer(CMS_SignerInfo *si, gboolean *present, gboolean *relaxed)
{
	g_autoptr(ASN1_OBJECT) oid = OBJ_txt2obj(ME_SMIME_OID_SECURE_HEADERS, 1);
	X509_ATTRIBUTE *attr;
	ASN1_TYPE *value;
	gint idx;

	if (oid == NULL)
		return NULL;
	idx = CMS_signed_get_attr_by_OBJ(si, oid, -1);
	if (idx < 0)
		return NULL;
	*present = TRUE;
	/* two attributes or two values would make the protected set ambiguous */
	if (CMS_signed_get_attr_by_OBJ(si, oid, idx) >= 0)
		return NULL;
	attr = CMS_signed_get_attr(si, idx);
	if (attr == NULL || X509_ATTRIBUTE_count(attr) != 1)
		return NULL;
	value = X509_ATTRIBUTE_get0_type(attr, 0);
	/* for a SET, the ASN1_TYPE keeps the whole encoding, tag and length included */
	if (value == NULL || value->type != V_ASN1_SET || value->value.set == NULL)
		return NULL;
	return secure_headers_decode(value->value.set->data, value->value.set->length, relaxed);
}

/* RFC 7508: a signed attribute lists the protected header fields and their values */
static gboolean
scheme_rfc7508(const Signed *sd, const Outer *outer, gboolean *applies, gchar **reason)
{
	STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(sd->cms);

	for (gint i = 0; i < sk_CMS_SignerInfo_num(infos); i++) {
		gboolean present = FALSE;
		gboolean relaxed = FALSE;
		g_autoptr(GPtrArray) fields = NULL;

		fields = secure_headers_from_signer(sk_CMS_SignerInfo_value(infos, i), &present, &relaxed);
		if (!present)
			continue;
		*applies = TRUE;
		if (fields == NULL) {
			/* TRANSLATORS: the list of signed mail headers inside a signature is malformed */
			*reason = g_strdup(_("The signed list of message headers could not be read."));
			return FALSE;
		}
		return protected_fields_check(fields, outer, relaxed, reason);
	}
	return FALSE;
}

/*
 * sets @result's headers_protected and scheme; returns why the headers are not protected
 * (transfer full), or NULL when they are
 */
static gchar *
headers_protection_check(MeSmimeResult *result, const Signed *sd, const Outer *outer)
{
	const struct {
		const gchar *name;
		SchemeFunc func;
	} schemes[] = {
	    {"rfc9788", scheme_rfc9788},
	    {"rfc8551-wrapped", scheme_rfc8551},
	    {"rfc7508", scheme_rfc7508},
	};
	gchar *first_reason = NULL;

	for (guint i = 0; i < G_N_ELEMENTS(schemes); i++) {
		gboolean applies = FALSE;
		g_autofree gchar *reason = NULL;

		if (schemes[i].func(sd, outer, &applies, &reason)) {
			g_free(result->scheme);
			result->scheme = g_strdup(schemes[i].name);
			result->headers_protected = TRUE;
			g_free(first_reason);
			return NULL;
		}
		if (applies && result->scheme == NULL) {
			result->scheme = g_strdup(schemes[i].name);
			first_reason = g_steal_pointer(&reason);
		}
	}
	if (first_reason == NULL) {
		/* TRANSLATORS: S/MIME header protection (RFC 8551, 7508 or 9788) is missing */
		first_reason = g_strdup(_("The signature does not protect the From, To and Subject headers."));
	}
	return first_reason;
}

typedef enum {
	SMIME_KIND_NONE,
	SMIME_KIND_DETACHED,
	SMIME_KIND_OPAQUE,
} SmimeKind;

static SmimeKind
smime_kind_from_type(const gchar *type, GHashTable *params)
{
	const gchar *protocol = g_hash_table_lookup(params, "protocol");
	const gchar *smime_type = g_hash_table_lookup(params, "smime-type");

	if (g_strcmp0(type, "multipart/signed") == 0) {
		if (protocol != NULL && (g_ascii_strcasecmp(protocol, "application/pkcs7-signature") == 0 ||
					 g_ascii_strcasecmp(protocol, "application/x-pkcs7-signature") == 0))
			return SMIME_KIND_DETACHED;
		return SMIME_KIND_NONE;
	}
	if (g_strcmp0(type, "application/pkcs7-mime") != 0 && g_strcmp0(type, "application/x-pkcs7-mime") != 0)
		return SMIME_KIND_NONE;
	/* without smime-type the CMS content type decides, once it is parsed */
	if (smime_type != NULL && g_ascii_strcasecmp(smime_type, "signed-data") != 0)
		return SMIME_KIND_NONE;
	return SMIME_KIND_OPAQUE;
}

static SmimeKind
smime_kind(GPtrArray *outer_fields, GError **error)
{
	guint count = 0;
	const HeaderField *ct = headers_lookup(outer_fields, "Content-Type", &count);
	g_autoptr(GHashTable) params = NULL;
	g_autofree gchar *type = NULL;
	SmimeKind kind = SMIME_KIND_NONE;

	if (count > 1) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a mail has two Content-Type headers */
				    _("The message has more than one Content-Type header."));
		return SMIME_KIND_NONE;
	}
	if (ct != NULL && (type = content_type_parse(ct->value->str, &params)) != NULL)
		kind = smime_kind_from_type(type, params);
	if (kind == SMIME_KIND_NONE) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: a mail has no S/MIME signature; it may be DKIM-signed instead */
				    _("The message is not S/MIME signed."));
	}
	return kind;
}

/* the signed content of an opaque signed-data, copied */
static GBytes *
cms_embedded_content(CMS_ContentInfo *cms)
{
	ASN1_OCTET_STRING **pos = CMS_get0_content(cms);

	if (pos == NULL || *pos == NULL || (*pos)->length < 0)
		return NULL;
	return g_bytes_new((*pos)->data, (gsize)(*pos)->length);
}

static GBytes *
bio_steal_bytes(BIO *bio)
{
	g_autoptr(BIO) owned = bio;
	gchar *ptr = NULL;
	long len = BIO_get_mem_data(owned, &ptr);

	if (len < 0 || (len > 0 && ptr == NULL))
		return NULL;
	return g_bytes_new(ptr, (gsize)len);
}

static gboolean
cms_shape_check(CMS_ContentInfo *cms, SmimeKind kind, gboolean have_detached, GError **error)
{
	if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_NOT_SUPPORTED,
				    /* TRANSLATORS: an S/MIME mail that is encrypted or compressed, not signed */
				    _("The message is S/MIME but not signed."));
		return FALSE;
	}
	/* the signed content is plain data, detached exactly when the MIME structure says so */
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data ||
	    (CMS_is_detached(cms) == 1) != (kind == SMIME_KIND_DETACHED) || have_detached != (kind == SMIME_KIND_DETACHED)) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: the S/MIME structure of a mail is inconsistent */
				    _("The S/MIME structure of the message is malformed."));
		return FALSE;
	}
	return TRUE;
}

/* the CMS structure, and the signed content (detached or embedded) in @content */
static CMS_ContentInfo *
cms_read(GBytes *message, SmimeKind kind, GBytes **content, GError **error)
{
	gsize len = 0;
	const gchar *data = g_bytes_get_data(message, &len);
	g_autoptr(BIO) in = BIO_new_mem_buf(data, (int)len);
	g_autoptr(CMS_ContentInfo) cms = NULL;
	BIO *bcont = NULL;
	g_autoptr(GBytes) detached = NULL;

	if (in == NULL) {
		/* TRANSLATORS: out of memory or similar inside the crypto library */
		me_crypto_set_error(error, ME_ERROR_CRYPTO, _("The S/MIME signature could not be read."));
		return NULL;
	}
	/* flags 0: the detached part comes back with CRLF line ends, as it was signed */
	cms = SMIME_read_CMS(in, &bcont);
	if (cms == NULL) {
		/* TRANSLATORS: the signature part of an S/MIME mail is damaged */
		me_crypto_set_error(error, ME_ERROR_INVALID_DATA, _("The S/MIME signature could not be read."));
		if (bcont != NULL)
			BIO_free(bcont);
		return NULL;
	}
	if (bcont != NULL)
		detached = bio_steal_bytes(bcont);
	if (!cms_shape_check(cms, kind, detached != NULL, error))
		return NULL;
	*content = detached != NULL ? g_steal_pointer(&detached) : cms_embedded_content(cms);
	if (*content == NULL) {
		g_set_error_literal(error,
				    ME_ERROR,
				    ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: an S/MIME signature without the text it signs */
				    _("The S/MIME signed content is missing."));
		return NULL;
	}
	return g_steal_pointer(&cms);
}

/* the signer certificates, found among the certificates the signature carries */
static GPtrArray *
signers_collect(CMS_ContentInfo *cms, gboolean *complete)
{
	STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
	GPtrArray *signers = g_ptr_array_new();
	gint n = sk_CMS_SignerInfo_num(infos);

	*complete = n > 0;
	if (n > 0 && CMS_set1_signers_certs(cms, NULL, 0) < 0)
		crypto_errors_drain("cannot match signer certificates");
	for (gint i = 0; i < n; i++) {
		X509 *signer = NULL;
		CMS_SignerInfo_get0_algs(sk_CMS_SignerInfo_value(infos, i), NULL, &signer, NULL, NULL);
		if (signer == NULL) {
			*complete = FALSE;
			continue;
		}
		g_ptr_array_add(signers, signer);
	}
	ERR_clear_error();
	return signers;
}

static gboolean
signature_verify(CMS_ContentInfo *cms, GBytes *detached)
{
	g_autoptr(BIO) dcont = NULL;
	gsize len = 0;
	const guchar *data;

	if (detached != NULL) {
		g_autoptr(BIO) mem = NULL;
		data = g_bytes_get_data(detached, &len);
		/* BIO_new_mem_buf() wants a non-NULL buffer, even for no bytes */
		mem = BIO_new_mem_buf(len > 0 ? data : (const guchar *)"", (int)len);
		/* behind a null filter: given a memory BIO, OpenSSL 3.0's CMS_verify() copies it
		 * into one of its own, which it leaks when the signature's content cannot be set up
		 * (found by fuzz-smime; its corpus keeps the input) */
		dcont = mem != NULL ? BIO_new(BIO_f_null()) : NULL;
		if (dcont == NULL)
			return FALSE;
		BIO_push(dcont, g_steal_pointer(&mem));
	}
	/* the chain is checked on its own, so a bad chain and a bad signature are told apart */
	if (CMS_verify(cms, NULL, NULL, dcont, NULL, CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		crypto_errors_drain("CMS signature does not verify");
		return FALSE;
	}
	return TRUE;
}

/* X509_V_OK when @cert chains to @trust for S/MIME signing, else the verify error */
static gint
chain_verify(X509_STORE *trust, X509 *cert, STACK_OF(X509) *untrusted)
{
	g_autoptr(X509_STORE_CTX) ctx = X509_STORE_CTX_new();
	gint err;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, trust, cert, untrusted) != 1 ||
	    X509_STORE_CTX_set_default(ctx, "smime_sign") != 1) {
		crypto_errors_drain("cannot set up chain verification");
		return X509_V_ERR_UNSPECIFIED;
	}
	if (X509_verify_cert(ctx) == 1)
		return X509_V_OK;
	err = X509_STORE_CTX_get_error(ctx);
	g_debug("signer chain does not verify: %s", X509_verify_cert_error_string(err));
	ERR_clear_error();
	return err != X509_V_OK ? err : X509_V_ERR_UNSPECIFIED;
}

static gint
chains_verify(CMS_ContentInfo *cms, X509_STORE *trust, GPtrArray *signers)
{
	g_autoptr(MeX509Stack) untrusted = CMS_get1_certs(cms);

	for (guint i = 0; i < signers->len; i++) {
		gint err = chain_verify(trust, g_ptr_array_index(signers, i), untrusted);
		if (err != X509_V_OK)
			return err;
	}
	return signers->len > 0 ? X509_V_OK : X509_V_ERR_UNSPECIFIED;
}

static gboolean
ia5_is_printable(const guchar *data, gint len)
{
	for (gint i = 0; i < len; i++) {
		if (data[i] < 33 || data[i] > 126)
			return FALSE;
	}
	return TRUE;
}

static void
cert_emails_append(X509 *cert, GPtrArray *emails)
{
	g_autoptr(GENERAL_NAMES) names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);

	for (gint i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(names, i);
		const ASN1_IA5STRING *email;

		if (name->type != GEN_EMAIL)
			continue;
		email = name->d.rfc822Name;
		/* a NUL, space or non-ASCII byte has no place in an rfc822Name (RFC 5280 §4.2.1.6) */
		if (email->length <= 0 || !ia5_is_printable(email->data, email->length))
			continue;
		g_ptr_array_add(emails, g_strndup((const gchar *)email->data, (gsize)email->length));
	}
	ERR_clear_error();
}

static GStrv
signer_emails(GPtrArray *signers)
{
	GPtrArray *emails = g_ptr_array_new();

	for (guint i = 0; i < signers->len; i++)
		cert_emails_append(g_ptr_array_index(signers, i), emails);
	g_ptr_array_add(emails, NULL);
	return (GStrv)g_ptr_array_free(emails, FALSE);
}

/* RFC 8823 C7b: an rfc822Name SAN equals the one From address */
static gboolean
emails_match_from(GStrv emails, const gchar *from)
{
	g_autoptr(GPtrArray) specs = address_list_parse(from);

	if (specs == NULL || specs->len != 1)
		return FALSE;
	for (guint i = 0; emails[i] != NULL; i++) {
		if (me_addr_spec_equal(emails[i], g_ptr_array_index(specs, 0)))
			return TRUE;
	}
	return FALSE;
}

static gchar *
chain_reason(gint err)
{
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		/* TRANSLATORS: the certificate of an S/MIME signed mail is out of date */
		return g_strdup(_("The signer's certificate or one of its issuers has expired."));
	case X509_V_ERR_CERT_NOT_YET_VALID:
		/* TRANSLATORS: the certificate of an S/MIME signed mail starts in the future */
		return g_strdup(_("The signer's certificate or one of its issuers is not valid yet."));
	case X509_V_ERR_INVALID_PURPOSE:
		/* TRANSLATORS: the certificate of an S/MIME signed mail is not for signing mail */
		return g_strdup(_("The signer's certificate is not meant for signing mail."));
	default:
		/* TRANSLATORS: the certificate of an S/MIME signed mail is not from a trusted CA */
		return g_strdup(_("The signer's certificate is not issued by a trusted authority."));
	}
}

static gchar *
signer_reason(GStrv emails, const gchar *from)
{
	g_autoptr(GPtrArray) specs = address_list_parse(from);

	if (emails[0] == NULL) {
		/* TRANSLATORS: the certificate of an S/MIME signed mail has no email address */
		return g_strdup(_("The signer's certificate carries no email address."));
	}
	if (specs == NULL || specs->len != 1) {
		/* TRANSLATORS: a mail's From header is missing or names several addresses */
		return g_strdup(_("The message does not have exactly one From address."));
	}
	/* TRANSLATORS: the certificate of an S/MIME signed mail is for someone else */
	return g_strdup(_("The signer's certificate is not issued for the message's From address."));
}

/* the first of the failures, as one sentence */
static gchar *
reason_pick(const MeSmimeResult *result, gboolean complete, gint chain_err, const Outer *outer, gchar **header_reason)
{
	if (!complete) {
		/* TRANSLATORS: an S/MIME signature lacks the certificate that made it */
		return g_strdup(_("The S/MIME signature does not include the signer's certificate."));
	}
	if (!result->signature_valid) {
		/* TRANSLATORS: an S/MIME signed mail was changed after it was signed */
		return g_strdup(_("The S/MIME signature does not match the signed content."));
	}
	if (!result->chain_valid)
		return chain_reason(chain_err);
	if (!result->signer_matches_from)
		return signer_reason(result->signer_emails, outer->from);
	return g_steal_pointer(header_reason);
}

static MeSmimeResult *
result_build(CMS_ContentInfo *cms, GBytes *content, gboolean detached, X509_STORE *trust, const Outer *outer)
{
	MeSmimeResult *result = g_new0(MeSmimeResult, 1);
	g_autoptr(GPtrArray) signers = NULL;
	g_autofree gchar *header_reason = NULL;
	gboolean complete = FALSE;
	gint chain_err = X509_V_ERR_UNSPECIFIED;
	gsize len = 0;
	const gchar *data = g_bytes_get_data(content, &len);
	Signed sd = {.cms = cms, .content = content};

	signers = signers_collect(cms, &complete);
	result->signature_valid = complete && signature_verify(cms, detached ? content : NULL);
	if (complete)
		chain_err = chains_verify(cms, trust, signers);
	result->chain_valid = chain_err == X509_V_OK;
	result->signer_emails = signer_emails(signers);
	result->signer_matches_from = emails_match_from(result->signer_emails, outer->from);
	/* an unreadable header block only rules out the schemes that need it */
	sd.fields = headers_parse(data != NULL ? data : "", len, &sd.body_offset, NULL);
	header_reason = headers_protection_check(result, &sd, outer);
	if (sd.fields != NULL)
		g_ptr_array_unref(sd.fields);
	result->verified = result->signature_valid && result->chain_valid && result->signer_matches_from &&
			   result->headers_protected;
	if (!result->verified)
		result->reason = reason_pick(result, complete, chain_err, outer, &header_reason);
	ERR_clear_error();
	return result;
}

/* the caller's value, else the message's own single header */
static const gchar *
outer_value(GPtrArray *fields, const gchar *given, const gchar *name)
{
	const HeaderField *field;

	if (given != NULL)
		return given;
	field = headers_lookup(fields, name, NULL);
	return field != NULL ? field->value->str : NULL;
}

/**
 * me_smime_verify:
 * @message: a whole RFC 5322 message with CRLF line ends, at most %ME_SMIME_MAX_SIZE bytes
 * @trust: the trust anchors the signer certificate must chain to
 * @outer_from: (nullable): the message's outer From value, raw (a display name and folding
 *   are fine); %NULL to use the message's own single From header
 * @outer_to: (nullable): the outer To value, likewise
 * @outer_subject: (nullable): the outer Subject value, raw and not RFC 2047-decoded, since
 *   the protected copy is compared byte for byte after unfolding and trimming
 * @error: (nullable): return location for a #GError
 *
 * Checks the S/MIME authenticity of an RFC 8823 challenge (RFC 8823 §3.1): a CMS signature
 * that verifies, a signer certificate that chains to @trust for S/MIME signing and has an
 * rfc822Name SAN equal to the From address, and header protection of at least From, To and
 * Subject whose values match the outer ones.  Header protection may be an RFC 8551 §3.1
 * message/rfc822 wrapper, an RFC 7508 secure-header signed attribute, or RFC 9788 `hp=`.
 *
 * A message that is not S/MIME signed at all (neither multipart/signed with an
 * application/(x-)pkcs7-signature protocol, nor application/(x-)pkcs7-mime signed-data) is
 * an error, %ME_ERROR_NOT_SUPPORTED, so the caller can try DKIM instead; so is an S/MIME
 * message that is encrypted rather than signed.  An unreadable top-level header block or a
 * damaged S/MIME structure (including a signature part that is not CMS) is
 * %ME_ERROR_INVALID_DATA, and a message over %ME_SMIME_MAX_SIZE is %ME_ERROR_TOO_LARGE.
 * Every other outcome, including a bad signature or an untrusted signer, is a result whose
 * @verified says whether to trust the message, and whose @reason says why not.
 *
 * With several signers, every signature and every chain must verify, and one signer's
 * certificate must name the From address.
 *
 * Returns: (transfer full) (nullable): the result, or %NULL with @error set
 */
MeSmimeResult *
me_smime_verify(GBytes *message,
		X509_STORE *trust,
		const gchar *outer_from,
		const gchar *outer_to,
		const gchar *outer_subject,
		GError **error)
{
	g_autoptr(GPtrArray) fields = NULL;
	g_autoptr(CMS_ContentInfo) cms = NULL;
	g_autoptr(GBytes) content = NULL;
	gsize len = 0;
	const gchar *data;
	gsize body_offset = 0;
	SmimeKind kind;
	Outer outer;

	g_return_val_if_fail(message != NULL, NULL);
	g_return_val_if_fail(trust != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	data = g_bytes_get_data(message, &len);
	if (len > ME_SMIME_MAX_SIZE) {
		g_set_error(error,
			    ME_ERROR,
			    ME_ERROR_TOO_LARGE,
			    /* TRANSLATORS: %u is a size in MiB */
			    _("The message is larger than %u MiB."),
			    (guint)(ME_SMIME_MAX_SIZE / (1024 * 1024)));
		return NULL;
	}
	fields = headers_parse(data != NULL ? data : "", len, &body_offset, error);
	if (fields == NULL)
		return NULL;
	kind = smime_kind(fields, error);
	if (kind == SMIME_KIND_NONE)
		return NULL;
	cms = cms_read(message, kind, &content, error);
	if (cms == NULL)
		return NULL;
	outer.from = outer_value(fields, outer_from, "From");
	outer.to = outer_value(fields, outer_to, "To");
	outer.subject = outer_value(fields, outer_subject, "Subject");

	/* success */
	return result_build(cms, content, kind == SMIME_KIND_DETACHED, trust, &outer);
}

/**
 * me_smime_trust_system_file:
 *
 * The system's bundle of trusted CA certificates, found the way OpenSSL finds it:
 * `$SSL_CERT_FILE` (X509_get_default_cert_file_env()) when set, else the file OpenSSL was
 * built with (X509_get_default_cert_file(); on Debian `/usr/lib/ssl/cert.pem`, a link to
 * `/etc/ssl/certs/ca-certificates.crt`).  Distributions ship it for TLS; there is no
 * separate S/MIME bundle, so it stands in for one.  The file may be missing.
 *
 * Returns: (transfer full): the path
 */
gchar *
me_smime_trust_system_file(void)
{
	const gchar *env = g_getenv(X509_get_default_cert_file_env());

	if (env != NULL && env[0] != '\0')
		return g_strdup(env);
	return g_strdup(X509_get_default_cert_file());
}

static void
set_trust_error(GError **error, gint code, const gchar *path, gint errnum)
{
	g_autofree gchar *file = g_filename_display_name(path);

	if (code == ME_ERROR_FAILED) {
		g_set_error(error, ME_ERROR, code,
			    /* TRANSLATORS: a file of S/MIME trust anchors cannot be opened; the path, then the system's reason */
			    _("The S/MIME trust file %s cannot be read (%s); check the path and its permissions."), file,
			    g_strerror(errnum));
	} else if (code == ME_ERROR_TOO_LARGE) {
		g_set_error(error, ME_ERROR, code,
			    /* TRANSLATORS: a file of S/MIME trust anchors is too big; the path, then the limit in MiB */
			    _("The S/MIME trust file %s is larger than %u MiB; give a file with only the CA certificates to trust."),
			    file, (guint)(ME_SMIME_TRUST_FILE_MAX / (1024 * 1024)));
	} else {
		g_set_error(error, ME_ERROR, code,
			    /* TRANSLATORS: a file of S/MIME trust anchors holds no certificate or a damaged one; %s is the path */
			    _("The S/MIME trust file %s does not hold PEM certificates only; give a file of PEM CA certificates."),
			    file);
	}
}

/* every certificate of the PEM text, or NULL when there is none or one is damaged */
static STACK_OF(X509) *
trust_parse(const gchar *data, gsize len)
{
	g_autoptr(BIO) in = BIO_new_mem_buf(data, (int)len);
	STACK_OF(X509) *certs = sk_X509_new_null();
	X509 *cert;

	if (in == NULL || certs == NULL) {
		sk_X509_free(certs);
		return NULL;
	}
	ERR_clear_error();
	/* _AUX: a TRUSTED CERTIFICATE block is read too, with its trust settings */
	while ((cert = PEM_read_bio_X509_AUX(in, NULL, NULL, NULL)) != NULL) {
		if (sk_X509_push(certs, cert) <= 0) {
			X509_free(cert);
			sk_X509_pop_free(certs, X509_free);
			return NULL;
		}
	}
	/* the loop ends at the end of the text, or at a block that is not a certificate */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE || sk_X509_num(certs) == 0) {
		crypto_errors_drain("trust file");
		sk_X509_pop_free(certs, X509_free);
		return NULL;
	}
	ERR_clear_error();
	return certs;
}

/* ---- trust files already read
 *
 * challenge.inspect reads the CA profile's trust file for every mail it checks, and the
 * system's bundle (some 140 certificates) takes tens of milliseconds to parse: a file's
 * certificates are kept, by path, for as long as the file found there is the same one,
 * with the same size and times. A file that changes is read again; one that cannot be
 * read is never kept. */

#define TRUST_FILES_MAX 8

typedef struct {
	struct stat st;
	STACK_OF(X509) *certs;
} TrustFile;

static GMutex trust_files_lock;
static GHashTable *trust_files; /* path → TrustFile */

static void
trust_file_free(TrustFile *tf)
{
	sk_X509_pop_free(tf->certs, X509_free);
	g_free(tf);
}

static gboolean
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* the certificates of @path as last read, with a reference each, if the file is the same */
static STACK_OF(X509) *
trust_files_lookup(const gchar *path, const struct stat *st)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&trust_files_lock);
	TrustFile *tf = trust_files != NULL ? g_hash_table_lookup(trust_files, path) : NULL;

	if (tf == NULL || !same_file(&tf->st, st))
		return NULL;
	return X509_chain_up_ref(tf->certs);
}

static void
trust_files_keep(const gchar *path, const struct stat *st, STACK_OF(X509) *certs)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&trust_files_lock);
	TrustFile *tf;

	if (trust_files == NULL)
		trust_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)trust_file_free);
	if (g_hash_table_size(trust_files) >= TRUST_FILES_MAX && !g_hash_table_contains(trust_files, path))
		g_hash_table_remove_all(trust_files);
	tf = g_new0(TrustFile, 1);
	tf->st = *st;
	tf->certs = X509_chain_up_ref(certs);
	if (tf->certs == NULL) {
		g_free(tf);
		return;
	}
	g_hash_table_replace(trust_files, g_strdup(path), tf);
}

/**
 * me_smime_trust_load:
 * @store: (nullable): where the certificates go; %NULL to check the file only
 * @path: a file of PEM CA certificates (`CERTIFICATE` or `TRUSTED CERTIFICATE` blocks)
 * @error: (nullable): return location for a #GError
 *
 * Reads trust anchors for S/MIME signers, at most %ME_SMIME_TRUST_FILE_MAX bytes.
 *
 * Returns: how many certificates were added, or 0 with @error set: %ME_ERROR_FAILED when
 *   the file cannot be read, %ME_ERROR_TOO_LARGE, or %ME_ERROR_INVALID_DATA when it holds
 *   no certificate or a damaged one
 */
guint
me_smime_trust_load(X509_STORE *store, const gchar *path, GError **error)
{
	g_autofree gchar *data = NULL;
	gsize len = 0;
	gint errnum = 0;
	guint count;
	STACK_OF(X509) *certs;
	struct stat st;
	gboolean have_st;

	g_return_val_if_fail(path != NULL, 0);
	g_return_val_if_fail(error == NULL || *error == NULL, 0);

	/* what is kept was read after the file was found as @st: a file that changes while it
	 * is read has new times, and is read again the next time */
	have_st = stat(path, &st) == 0;
	certs = have_st ? trust_files_lookup(path, &st) : NULL;
	if (certs == NULL) {
		data = me_file_read_bounded(path, ME_SMIME_TRUST_FILE_MAX, &len, NULL, &errnum);
		if (data == NULL) {
			set_trust_error(error, errnum == EFBIG ? ME_ERROR_TOO_LARGE : ME_ERROR_FAILED, path, errnum);
			return 0;
		}
		certs = len <= G_MAXINT ? trust_parse(data, len) : NULL;
		if (certs == NULL) {
			set_trust_error(error, ME_ERROR_INVALID_DATA, path, 0);
			return 0;
		}
		if (have_st)
			trust_files_keep(path, &st, certs);
	}
	count = (guint)sk_X509_num(certs);
	for (gint i = 0; store != NULL && i < sk_X509_num(certs); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(certs, i)) != 1) {
			crypto_errors_drain("cannot add a trust anchor");
			set_trust_error(error, ME_ERROR_INVALID_DATA, path, 0);
			count = 0;
			break;
		}
	}
	sk_X509_pop_free(certs, X509_free);
	return count;
}
