/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#define G_LOG_DOMAIN "MeChallenge"

#include "config.h"

#include "challenge.h"

#include <glib/gi18n-lib.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>

#include "encoding.h"
#include "me-error.h"

/* RFC 8823 §3.2 item 7 */
#define ACME_RESPONSE_BEGIN "-----BEGIN ACME RESPONSE-----"
#define ACME_RESPONSE_END   "-----END ACME RESPONSE-----"
/* a JWK thumbprint is 43 characters; leave room for other hashes */
#define THUMBPRINT_MAX_LEN 128

typedef struct {
	const gchar *nick;
	const gchar *sentence;
} ReasonInfo;

/* indexed by MeChallengeReason */
static const ReasonInfo reasons[] = {
    /* TRANSLATORS: the challenge mail passed every check and may be answered */
    {"ok", N_("The message is an authentic ACME challenge for a pending request.")},
    /* TRANSLATORS: an ordinary mail, not an ACME challenge */
    {"not-challenge", N_("The message is not an ACME challenge.")},
    /* TRANSLATORS: a mail was refused before it was read in full */
    {"too-large", N_("The message is too large or too deeply nested to be checked.")},
    /* TRANSLATORS: the mail could not be parsed */
    {"malformed", N_("The message is not a well-formed mail message.")},
    /* TRANSLATORS: RFC 8823 allows only UTF-8 and US-ASCII in the challenge subject */
    {"bad-charset", N_("The challenge subject uses a character set other than UTF-8 or US-ASCII.")},
    /* TRANSLATORS: a header of the challenge mail is not valid text */
    {"bad-header-text", N_("A header of the challenge mail is not valid UTF-8 text.")},
    /* TRANSLATORS: "ACME:" is the literal subject prefix of a challenge mail */
    {"reply", N_("The message is a reply or a forward of a challenge, not the challenge itself.")},
    /* TRANSLATORS: "ACME:" is the literal subject prefix of a challenge mail */
    {"bad-subject", N_("The challenge subject does not have the form \"ACME: token\".")},
    /* TRANSLATORS: the token is the random text in the challenge subject */
    {"bad-token", N_("The token in the challenge subject is not valid base64url text.")},
    /* TRANSLATORS: the token is the random text in the challenge subject */
    {"short-token", N_("The token in the challenge subject is shorter than 128 bits.")},
    /* TRANSLATORS: e.g. two From headers */
    {"duplicate-header", N_("The challenge mail has a header twice that must appear once.")},
    /* TRANSLATORS: the challenge mail arrived through a mailing list */
    {"mailing-list", N_("The challenge mail came through a mailing list.")},
    /* TRANSLATORS: "Auto-Submitted: auto-generated" is a literal mail header */
    {"not-auto-generated", N_("The challenge mail lacks the header \"Auto-Submitted: auto-generated\".")},
    /* TRANSLATORS: the From header of the challenge mail */
    {"bad-from", N_("The sender of the challenge mail is not one readable address.")},
    /* TRANSLATORS: the To header of the challenge mail */
    {"bad-to", N_("The recipient of the challenge mail is not one readable address.")},
    /* TRANSLATORS: a challenge arrived but no certificate request is waiting for one */
    {"no-pending", N_("No certificate request is waiting for a challenge.")},
    /* TRANSLATORS: the challenge is addressed to a mailbox we did not ask about */
    {"to-mismatch", N_("The challenge mail is not addressed to a mailbox with a pending request.")},
    /* TRANSLATORS: the challenge's sender is not the one the certificate authority announced */
    {"from-mismatch", N_("The challenge mail does not come from the sender the certificate authority announced.")},
    /* TRANSLATORS: an internal inconsistency in the pending requests */
    {"ambiguous", N_("The challenge mail matches more than one pending request.")},
    /* TRANSLATORS: each challenge is answered at most once */
    {"already-answered", N_("This challenge was already answered.")},
    /* TRANSLATORS: the certificate authority's authorization has expired */
    {"authz-expired", N_("The authorization for this challenge has expired.")},
    /* TRANSLATORS: the challenge mail is older than a day, or dated wrongly */
    {"stale", N_("The challenge mail is too old or wrongly dated.")},
    /* TRANSLATORS: neither DKIM nor S/MIME nor a trusted server vouched for the mail */
    {"unauthenticated", N_("The challenge mail could not be authenticated.")},
};

G_STATIC_ASSERT(G_N_ELEMENTS(reasons) == ME_CHALLENGE_REASON_LAST);

/**
 * me_challenge_reason_to_nick:
 * @reason: a reason
 *
 * Returns: (transfer none): a stable lower-case name, e.g. `from-mismatch`
 */
const gchar *
me_challenge_reason_to_nick(MeChallengeReason reason)
{
	if ((guint)reason >= ME_CHALLENGE_REASON_LAST)
		return "unknown";
	return reasons[reason].nick;
}

/**
 * me_challenge_reason_from_nick:
 * @nick: a name from me_challenge_reason_to_nick()
 * @reason: (out): the reason
 *
 * Returns: %TRUE if @nick is known
 */
gboolean
me_challenge_reason_from_nick(const gchar *nick, MeChallengeReason *reason)
{
	g_return_val_if_fail(nick != NULL && reason != NULL, FALSE);
	for (guint i = 0; i < ME_CHALLENGE_REASON_LAST; i++) {
		if (g_strcmp0(reasons[i].nick, nick) == 0) {
			*reason = (MeChallengeReason)i;
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * me_challenge_reason_to_string:
 * @reason: a reason
 *
 * Returns: (transfer none): one translated sentence
 */
const gchar *
me_challenge_reason_to_string(MeChallengeReason reason)
{
	if ((guint)reason >= ME_CHALLENGE_REASON_LAST)
		reason = ME_CHALLENGE_REASON_MALFORMED;
	return _(reasons[reason].sentence);
}

/**
 * me_token_join_from_string:
 * @text: `string` or `binary`, as in a CA profile
 * @join: (out): the join
 *
 * Returns: %TRUE if @text names a join
 */
gboolean
me_token_join_from_string(const gchar *text, MeTokenJoin *join)
{
	g_return_val_if_fail(join != NULL, FALSE);
	if (g_strcmp0(text, "string") == 0) {
		*join = ME_TOKEN_JOIN_STRING;
		return TRUE;
	}
	if (g_strcmp0(text, "binary") == 0) {
		*join = ME_TOKEN_JOIN_BINARY;
		return TRUE;
	}
	return FALSE;
}

/* indexed by the bit of each MeChallengeQuirks value */
static const gchar *const quirk_nicks[] = {ME_CHALLENGE_QUIRK_NAME_MISSING_AUTO_SUBMITTED};

/**
 * me_challenge_quirk_from_nick:
 * @nick: a quirk's name in the configuration, e.g. `missing-auto-submitted`
 * @quirk: (out): the quirk
 *
 * Returns: %TRUE if @nick names a quirk
 */
gboolean
me_challenge_quirk_from_nick(const gchar *nick, MeChallengeQuirks *quirk)
{
	g_return_val_if_fail(quirk != NULL, FALSE);
	for (guint i = 0; nick != NULL && i < G_N_ELEMENTS(quirk_nicks); i++) {
		if (g_strcmp0(nick, quirk_nicks[i]) == 0) {
			*quirk = (MeChallengeQuirks)(1u << i);
			return TRUE;
		}
	}
	return FALSE;
}

/**
 * me_challenge_quirk_to_nick:
 * @quirk: one quirk (a single bit)
 *
 * Returns: (transfer none) (nullable): its name in the configuration, or %NULL for no known
 *   single quirk
 */
const gchar *
me_challenge_quirk_to_nick(MeChallengeQuirks quirk)
{
	for (guint i = 0; i < G_N_ELEMENTS(quirk_nicks); i++) {
		if ((guint)quirk == (1u << i))
			return quirk_nicks[i];
	}
	return NULL;
}

/**
 * me_challenge_auth_method_to_string:
 * @method: a method
 *
 * Returns: (transfer none): its name for logs and the prompt
 */
const gchar *
me_challenge_auth_method_to_string(MeChallengeAuthMethod method)
{
	switch (method) {
	case ME_CHALLENGE_AUTH_DKIM:
		return "DKIM";
	case ME_CHALLENGE_AUTH_SMIME:
		return "S/MIME";
	case ME_CHALLENGE_AUTH_RESULTS:
		return "Authentication-Results";
	case ME_CHALLENGE_AUTH_NONE:
	default:
		return "none";
	}
}

/**
 * me_challenge_auth_result_init:
 * @result: a result to set up
 */
void
me_challenge_auth_result_init(MeChallengeAuthResult *result)
{
	g_return_if_fail(result != NULL);
	result->method = ME_CHALLENGE_AUTH_NONE;
	result->detail = NULL;
	result->dkim_key_name = NULL;
	result->failures = g_ptr_array_new_with_free_func(g_free);
	result->temporary = FALSE;
	result->signed_by = NULL;
	result->results_failed = FALSE;
	result->dns_name = NULL;
	result->dns_server = NULL;
}

/**
 * me_challenge_auth_result_clear:
 * @result: a result from me_challenge_auth_result_init()
 */
void
me_challenge_auth_result_clear(MeChallengeAuthResult *result)
{
	g_return_if_fail(result != NULL);
	g_clear_pointer(&result->detail, g_free);
	g_clear_pointer(&result->dkim_key_name, g_free);
	g_clear_pointer(&result->failures, g_ptr_array_unref);
	g_clear_pointer(&result->dns_name, g_free);
	g_clear_pointer(&result->dns_server, g_free);
	result->method = ME_CHALLENGE_AUTH_NONE;
}

/**
 * me_challenge_auth_result_set_pass:
 * @result: a result
 * @method: the method that passed
 * @detail: (nullable): what passed
 */
void
me_challenge_auth_result_set_pass(MeChallengeAuthResult *result,
				  MeChallengeAuthMethod method,
				  const gchar *detail)
{
	g_return_if_fail(result != NULL);
	result->method = method;
	g_free(result->detail);
	result->detail = g_strdup(detail);
}

/**
 * me_challenge_auth_result_add_failure:
 * @result: a result
 * @format: printf-style text saying why a method failed
 * @...: arguments
 */
void
me_challenge_auth_result_add_failure(MeChallengeAuthResult *result, const gchar *format, ...)
{
	va_list args;

	g_return_if_fail(result != NULL && format != NULL);
	if (result->failures == NULL)
		result->failures = g_ptr_array_new_with_free_func(g_free);
	va_start(args, format);
	g_ptr_array_add(result->failures, g_strdup_vprintf(format, args));
	va_end(args);
}

/* ---- the cheap first pass */

static gboolean
span_has(const gchar *data, gsize len, const gchar *needle)
{
	gsize nlen = strlen(needle);

	for (gsize i = 0; i + nlen <= len; i++) {
		if (data[i] == needle[0] && memcmp(data + i, needle, nlen) == 0)
			return TRUE;
	}
	return FALSE;
}

/* the length of "Subject" plus optional white space plus ':' at @line, or 0 */
static gsize
subject_name_len(const gchar *line, gsize len)
{
	gsize n = 7;

	if (len < 8 || g_ascii_strncasecmp(line, "Subject", 7) != 0)
		return 0;
	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	return n < len && line[n] == ':' ? n + 1 : 0;
}

static gboolean
head_is_complete(const GByteArray *head)
{
	const gchar *data = (const gchar *)head->data;
	gsize len = head->len;
	if (len == 0)
		return FALSE;
	/* the header block ends at the first empty line, in either line-end style */
	return g_strstr_len(data, len, "\n\n") != NULL || g_strstr_len(data, len, "\n\r\n") != NULL;
}

/**
 * me_challenge_quick_check_stream:
 * @stream: a message being read, e.g. a file or standard input
 * @head: (out) (transfer full) (optional): the bytes read, for a full inspection
 * @cancellable: (nullable): a cancellable
 * @error: (nullable): return location
 *
 * me_challenge_quick_check() on a stream: reads no further than the end of the header
 * block (or its bound), so a large message costs the same as a small one.  When it
 * returns %TRUE the caller reads the rest after @head and calls me_challenge_inspect().
 *
 * Returns: %TRUE if the message may be a challenge; %FALSE for ordinary mail or on a read
 * error (with @error set)
 */
gboolean
me_challenge_quick_check_stream(GInputStream *stream, GBytes **head, GCancellable *cancellable, GError **error)
{
	g_autoptr(GByteArray) buf = g_byte_array_new();
	guint8 chunk[4096];
	gboolean result;

	g_return_val_if_fail(error == NULL || *error == NULL, FALSE);
	while (buf->len < ME_MAIL_MAX_HEADER_BLOCK_DEFAULT && !head_is_complete(buf)) {
		gssize n = g_input_stream_read(stream, chunk, sizeof(chunk), cancellable, error);
		if (n < 0) {
			me_error_convert(error);
			return FALSE;
		}
		if (n == 0)
			break;
		g_byte_array_append(buf, chunk, (guint)n);
	}
	result = me_challenge_quick_check((const gchar *)buf->data, buf->len);
	if (head != NULL)
		*head = g_byte_array_free_to_bytes(g_steal_pointer(&buf));
	return result;
}

/**
 * me_challenge_quick_check:
 * @data: raw message bytes (LF or CRLF, maybe with Thunderbird's prefix lines)
 * @len: their number
 *
 * A first pass that reads only the header block, allocates nothing and runs no
 * parser: ordinary mail is turned away for the cost of its headers, however large its
 * body.  It passes on every message whose Subject contains `ACME:` (folding cannot split
 * that text, since a continuation line starts with white space) and every one with an
 * RFC 2047 encoded Subject, which only the full check can judge.
 *
 * Returns: %TRUE if the message may be a challenge and deserves me_challenge_inspect()
 */
gboolean
me_challenge_quick_check(const gchar *data, gsize len)
{
	gsize limit = MIN(len, (gsize)ME_MAIL_MAX_HEADER_BLOCK_DEFAULT);
	gsize pos = 0;
	gboolean in_subject = FALSE;

	if (data == NULL)
		return FALSE;
	while (pos < limit) {
		const gchar *lf = memchr(data + pos, '\n', limit - pos);
		gsize end = lf != NULL ? (gsize)(lf - data) : limit;
		gsize line_len = end - pos;
		const gchar *line = data + pos;
		gsize skip;

		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		/* the empty line ends the header block, and our interest */
		if (line_len == 0)
			return FALSE;
		if (line[0] == ' ' || line[0] == '\t') {
			skip = 0;
		} else {
			skip = subject_name_len(line, line_len);
			in_subject = skip > 0;
		}
		if (in_subject &&
		    (span_has(line + skip, line_len - skip, "ACME:") || span_has(line + skip, line_len - skip, "=?")))
			return TRUE;
		if (lf == NULL)
			break;
		pos = end + 1;
	}
	return FALSE;
}

/* ---- subject and token */

static gboolean
b64u_char(gchar c)
{
	return g_ascii_isalnum(c) || c == '-' || c == '_';
}

/* base64url with an optional, correct, trailing padding */
static gboolean
token_syntax_ok(const gchar *token)
{
	gsize len = strlen(token);
	gsize pad = 0;

	if (len == 0 || len > ME_CHALLENGE_TOKEN_MAX_LEN)
		return FALSE;
	while (pad < len && token[len - 1 - pad] == '=')
		pad++;
	if (pad > 2 || (pad > 0 && len % 4 != 0) || (len - pad) % 4 == 1)
		return FALSE;
	for (gsize i = 0; i < len - pad; i++) {
		if (!b64u_char(token[i]))
			return FALSE;
	}
	return TRUE;
}

static GBytes *
token_decode(const gchar *token, GError **error)
{
	g_autofree gchar *bare = NULL;
	gsize len;

	if (!token_syntax_ok(token)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a challenge token is malformed */
				    _("A challenge token is not valid base64url text."));
		return NULL;
	}
	len = strlen(token);
	while (len > 0 && token[len - 1] == '=')
		len--;
	bare = g_strndup(token, len);
	return me_b64u_decode_secret(bare, ME_CHALLENGE_TOKEN_MAX_LEN, error);
}

static gchar *
strip_whitespace(const gchar *text, gsize max_len)
{
	GString *out = g_string_new(NULL);

	for (const gchar *p = text; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (out->len >= max_len) {
			/* one more than allowed is enough for the caller to refuse it */
			g_string_append_c(out, *p);
			break;
		}
		g_string_append_c(out, *p);
	}
	return g_string_free(out, FALSE);
}

/**
 * me_challenge_parse_subject:
 * @subject: a decoded, unfolded Subject
 * @token_part1: (out) (optional) (nullable): token-part1, whitespace removed, padding kept
 *
 * Checks C1 of docs/standards.md §1.3: `ACME:` first, then white space, then a
 * base64url token (white space inside it removed, optional trailing `=`) of at least
 * 16 bytes.  Text before `ACME:` makes it a reply.
 *
 * Returns: %ME_CHALLENGE_REASON_OK, or why the subject is not a challenge's
 */
MeChallengeReason
me_challenge_parse_subject(const gchar *subject, gchar **token_part1)
{
	const gchar *acme;
	const gchar *start;
	g_autofree gchar *token = NULL;
	g_autoptr(GBytes) raw = NULL;

	g_return_val_if_fail(subject != NULL, ME_CHALLENGE_REASON_NOT_CHALLENGE);
	start = subject + strspn(subject, " \t");
	acme = strstr(start, "ACME:");
	if (acme == NULL)
		return ME_CHALLENGE_REASON_NOT_CHALLENGE;
	if (acme != start)
		return ME_CHALLENGE_REASON_REPLY;
	if (acme[5] != ' ' && acme[5] != '\t')
		return ME_CHALLENGE_REASON_BAD_SUBJECT;
	token = strip_whitespace(acme + 5, ME_CHALLENGE_TOKEN_MAX_LEN);
	if (token[0] == '\0')
		return ME_CHALLENGE_REASON_BAD_SUBJECT;
	raw = token_decode(token, NULL);
	if (raw == NULL)
		return ME_CHALLENGE_REASON_BAD_TOKEN;
	if (g_bytes_get_size(raw) < ME_CHALLENGE_TOKEN_MIN_BYTES)
		return ME_CHALLENGE_REASON_SHORT_TOKEN;
	if (token_part1 != NULL)
		*token_part1 = g_steal_pointer(&token);
	return ME_CHALLENGE_REASON_OK;
}

/* ---- Authentication-Results (RFC 8601) */

/*
 * A tokenizer for RFC 8601 §2.2:
 *
 *   authres-payload = [CFWS] authserv-id [ CFWS authres-version ] ( no-result / 1*resinfo ) [CFWS]
 *   no-result       = [CFWS] ";" [CFWS] "none"
 *   resinfo         = [CFWS] ";" methodspec [ CFWS reasonspec ] *( CFWS propspec )
 *   methodspec      = [CFWS] method [CFWS] "=" [CFWS] result
 *   method          = Keyword [ [CFWS] "/" [CFWS] method-version ]
 *   reasonspec      = "reason" [CFWS] "=" [CFWS] value
 *   propspec        = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
 *   pvalue          = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
 *
 * with CFWS from RFC 5322 (nested comments, quoted-pairs) and value = token / quoted-string
 * from RFC 2045.  Whatever does not fit makes the whole header unreadable: a `;` or a
 * `dkim=pass` inside a quoted string or a comment is text, never structure.  One leniency: an
 * unquoted pvalue may hold any atext, as a local-part may (Gmail writes header.b=ab/cd+ef);
 * atext holds no `;`, quote, parenthesis or white space, so it cannot hide a separator.
 */

#define AR_TSPECIALS "()<>@,;:\\\"/[]?="
#define AR_ATEXT_PUNCT "!#$%&'*+-/=?^_`{|}~"

typedef struct {
	gchar *method; /* lowercase */
	guint version; /* 0 when none is given, which means 1 */
	gchar *result; /* lowercase */
	GPtrArray *props; /* "ptype.property" (lowercase), value, "ptype.property", value, ... */
} ArResinfo;

typedef struct {
	gchar *authserv_id;
	GPtrArray *resinfos; /* ArResinfo *; empty for "none" */
} ArHeader;

static void
ar_resinfo_free(ArResinfo *info)
{
	g_free(info->method);
	g_free(info->result);
	g_ptr_array_unref(info->props);
	g_free(info);
}

static void
ar_header_free(ArHeader *header)
{
	g_free(header->authserv_id);
	g_ptr_array_unref(header->resinfos);
	g_free(header);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArResinfo, ar_resinfo_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ArHeader, ar_header_free)

static gboolean
ar_is_wsp(gchar c)
{
	/* the value is unfolded; a CR or LF left over is folding white space all the same */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* VCHAR, or a byte of a UTF-8 sequence (RFC 6532; the value was checked to be UTF-8) */
static gboolean
ar_is_text(gchar c)
{
	guchar u = (guchar)c;
	return (u > 32 && u < 127) || u >= 0x80;
}

static gboolean
ar_is_atext(gchar c)
{
	return g_ascii_isalnum(c) || ((guchar)c >= 0x80) || (c != '\0' && strchr(AR_ATEXT_PUNCT, c) != NULL);
}

/* a comment from its "(": nested comments and quoted-pairs; FALSE if it never ends */
static gboolean
ar_skip_comment(const gchar **p)
{
	const gchar *s = *p + 1;
	guint depth = 1;

	while (depth > 0) {
		if (*s == '\0')
			return FALSE;
		if (*s == '\\') {
			if (!ar_is_text(s[1]) && s[1] != ' ' && s[1] != '\t')
				return FALSE;
			s += 2;
			continue;
		}
		if (*s == '(')
			depth++;
		else if (*s == ')')
			depth--;
		else if (!ar_is_text(*s) && !ar_is_wsp(*s))
			return FALSE;
		s++;
	}
	*p = s;
	return TRUE;
}

/* [CFWS]: sets *seen when there was some; FALSE for a comment that does not parse */
static gboolean
ar_skip_cfws(const gchar **p, gboolean *seen)
{
	const gchar *start = *p;

	for (;;) {
		if (ar_is_wsp(**p)) {
			(*p)++;
		} else if (**p == '(') {
			if (!ar_skip_comment(p))
				return FALSE;
		} else {
			break;
		}
	}
	if (seen != NULL)
		*seen = *p != start;
	return TRUE;
}

/* Keyword (RFC 5321 Ldh-str): letters, digits and hyphens, not ending in a hyphen; lowercased */
static gchar *
ar_keyword(const gchar **p)
{
	const gchar *start = *p;
	const gchar *s = start;

	while (g_ascii_isalnum(*s) || *s == '-')
		s++;
	if (s == start || s[-1] == '-')
		return NULL;
	*p = s;
	return g_ascii_strdown(start, s - start);
}

/* a quoted-string from its '"', unescaped; NULL if it never ends or holds a control character */
static gchar *
ar_quoted_string(const gchar **p)
{
	g_autoptr(GString) out = g_string_new(NULL);
	const gchar *s = *p + 1;

	for (;;) {
		if (*s == '\0')
			return NULL;
		if (*s == '"')
			break;
		if (*s == '\\') {
			if (!ar_is_text(s[1]) && s[1] != ' ' && s[1] != '\t')
				return NULL;
			g_string_append_c(out, s[1]);
			s += 2;
			continue;
		}
		if (!ar_is_text(*s) && *s != ' ' && *s != '\t')
			return NULL;
		g_string_append_c(out, *s);
		s++;
	}
	*p = s + 1;
	return g_string_free(g_steal_pointer(&out), FALSE);
}

/* value = token / quoted-string (RFC 2045 §5.1) */
static gchar *
ar_value(const gchar **p)
{
	const gchar *start = *p;
	const gchar *s = start;

	if (*s == '"')
		return ar_quoted_string(p);
	while ((guchar)*s > 32 && (guchar)*s < 127 && strchr(AR_TSPECIALS, *s) == NULL)
		s++;
	if (s == start)
		return NULL;
	*p = s;
	return g_strndup(start, s - start);
}

/* a run of atext and dots: a dot-atom local-part or a domain-name, leniently */
static gboolean
ar_skip_atoms(const gchar **p)
{
	const gchar *start = *p;

	while (ar_is_atext(**p) || **p == '.')
		(*p)++;
	return *p != start;
}

/* pvalue without its surrounding CFWS: value / [ [ local-part ] "@" ] domain-name; a
 * quoted-string alone gives its content, anything else its text as written */
static gchar *
ar_pvalue(const gchar **p)
{
	const gchar *start = *p;
	g_autofree gchar *quoted = NULL;

	if (**p == '"') {
		quoted = ar_quoted_string(p);
		if (quoted == NULL)
			return NULL;
		if (**p != '@')
			return g_steal_pointer(&quoted);
	} else if (**p != '@') {
		if (!ar_skip_atoms(p))
			return NULL;
		if (**p != '@')
			return g_strndup(start, *p - start);
	}
	(*p)++;
	if (!ar_skip_atoms(p))
		return NULL;
	return g_strndup(start, *p - start);
}

/* 1*DIGIT, at most 9 of them */
static gboolean
ar_number(const gchar **p, guint *out)
{
	guint value = 0;
	guint n = 0;

	for (; g_ascii_isdigit(**p); (*p)++, n++) {
		if (n == 9)
			return FALSE;
		value = value * 10 + (guint)(**p - '0');
	}
	*out = value;
	return n > 0;
}

/* methodspec after its [CFWS]: method [ [CFWS] "/" [CFWS] method-version ] [CFWS] "=" [CFWS] result */
static gboolean
ar_methodspec(const gchar **p, ArResinfo *info)
{
	info->method = ar_keyword(p);
	if (info->method == NULL || !ar_skip_cfws(p, NULL))
		return FALSE;
	if (**p == '/') {
		(*p)++;
		if (!ar_skip_cfws(p, NULL) || !ar_number(p, &info->version) || info->version == 0 ||
		    !ar_skip_cfws(p, NULL))
			return FALSE;
	}
	if (**p != '=')
		return FALSE;
	(*p)++;
	if (!ar_skip_cfws(p, NULL))
		return FALSE;
	info->result = ar_keyword(p);
	return info->result != NULL;
}

/* one reasonspec or propspec, its CFWS before it already skipped */
static gboolean
ar_property(const gchar **p, ArResinfo *info, gboolean *reason_allowed)
{
	g_autofree gchar *ptype = ar_keyword(p);
	g_autofree gchar *property = NULL;
	g_autofree gchar *value = NULL;

	if (ptype == NULL || !ar_skip_cfws(p, NULL))
		return FALSE;
	if (**p == '=' && *reason_allowed && g_str_equal(ptype, "reason")) {
		g_autofree gchar *reason = NULL;
		(*p)++;
		*reason_allowed = FALSE;
		return ar_skip_cfws(p, NULL) && (reason = ar_value(p)) != NULL;
	}
	*reason_allowed = FALSE;
	if (**p != '.')
		return FALSE;
	(*p)++;
	if (!ar_skip_cfws(p, NULL) || (property = ar_keyword(p)) == NULL || !ar_skip_cfws(p, NULL) || **p != '=')
		return FALSE;
	(*p)++;
	if (!ar_skip_cfws(p, NULL) || (value = ar_pvalue(p)) == NULL)
		return FALSE;
	g_ptr_array_add(info->props, g_strconcat(ptype, ".", property, NULL));
	g_ptr_array_add(info->props, g_steal_pointer(&value));
	return TRUE;
}

/* one resinfo after its ";" */
static ArResinfo *
ar_resinfo(const gchar **p)
{
	g_autoptr(ArResinfo) info = g_new0(ArResinfo, 1);
	gboolean reason_allowed = TRUE;
	gboolean cfws = FALSE;

	info->props = g_ptr_array_new_with_free_func(g_free);
	if (!ar_skip_cfws(p, NULL) || !ar_methodspec(p, info))
		return NULL;
	for (;;) {
		if (!ar_skip_cfws(p, &cfws))
			return NULL;
		if (**p == ';' || **p == '\0')
			return g_steal_pointer(&info);
		/* the grammar wants white space or a comment between the parts of a resinfo */
		if (!cfws || !ar_property(p, info, &reason_allowed))
			return NULL;
	}
}

/* "none" standing alone after the first ";" (no-result) */
static gboolean
ar_is_none(const gchar *p)
{
	if (g_ascii_strncasecmp(p, "none", 4) != 0)
		return FALSE;
	p += 4;
	return ar_skip_cfws(&p, NULL) && *p == '\0';
}

/* authserv-id [ CFWS authres-version ]; only version 1 exists (RFC 8601 §2.2) */
static gboolean
ar_head(const gchar **p, ArHeader *header)
{
	gboolean cfws = FALSE;
	guint version = 0;

	if (!ar_skip_cfws(p, NULL) || (header->authserv_id = ar_value(p)) == NULL || !ar_skip_cfws(p, &cfws))
		return FALSE;
	if (cfws && g_ascii_isdigit(**p)) {
		if (!ar_number(p, &version) || version != 1 || !ar_skip_cfws(p, NULL))
			return FALSE;
	}
	return **p == ';';
}

/* the whole value of one Authentication-Results field, or NULL when it does not parse */
static ArHeader *
ar_parse(const gchar *value)
{
	g_autoptr(ArHeader) header = g_new0(ArHeader, 1);
	const gchar *p = value;

	header->resinfos = g_ptr_array_new_with_free_func((GDestroyNotify)ar_resinfo_free);
	if (!ar_head(&p, header))
		return NULL;
	p++;
	if (!ar_skip_cfws(&p, NULL))
		return NULL;
	if (ar_is_none(p))
		return g_steal_pointer(&header);
	for (;;) {
		ArResinfo *info = ar_resinfo(&p);
		if (info == NULL)
			return NULL;
		g_ptr_array_add(header->resinfos, info);
		if (*p == '\0')
			return g_steal_pointer(&header);
		p++;
	}
}

/* the value of @name in @info when it occurs exactly once, else NULL */
static const gchar *
ar_prop_value(const ArResinfo *info, const gchar *name)
{
	const gchar *found = NULL;

	for (guint i = 0; i + 1 < info->props->len; i += 2) {
		if (!g_str_equal(g_ptr_array_index(info->props, i), name))
			continue;
		if (found != NULL)
			return NULL;
		found = g_ptr_array_index(info->props, i + 1);
	}
	return found;
}

/* one resinfo: is it dkim=pass for @domain? */
static gboolean
ar_resinfo_passes(const ArResinfo *info, const gchar *domain, MeChallengeAuthResult *result)
{
	const gchar *header_d;

	/* a method version other than 1 is a DKIM we do not know */
	if (!g_str_equal(info->method, "dkim") || info->version > 1)
		return FALSE;
	header_d = ar_prop_value(info, "header.d");
	if (!g_str_equal(info->result, "pass")) {
		/* dkim=none only says the mail was not signed; any other result is a failed check */
		result->results_failed |= !g_str_equal(info->result, "none");
		me_challenge_auth_result_add_failure(result, "Authentication-Results: dkim=%s", info->result);
		return FALSE;
	}
	if (header_d == NULL || g_ascii_strcasecmp(header_d, domain) != 0) {
		me_challenge_auth_result_add_failure(result,
						     "Authentication-Results: dkim=pass for header.d=%s, not %s",
						     header_d != NULL ? header_d : "(none or several)", domain);
		return FALSE;
	}
	return TRUE;
}

static gboolean
ar_id_trusted(const gchar *id, const gchar *const *trusted)
{
	for (guint i = 0; trusted != NULL && trusted[i] != NULL; i++) {
		if (g_ascii_strcasecmp(id, trusted[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

static gboolean
ar_evaluate(const ArHeader *header, const gchar *domain, MeChallengeAuthResult *result)
{
	for (guint i = 0; i < header->resinfos->len; i++) {
		if (ar_resinfo_passes(g_ptr_array_index(header->resinfos, i), domain, result)) {
			g_autofree gchar *detail =
			    g_strdup_printf("authserv-id=%s dkim=pass header.d=%s", header->authserv_id, domain);
			me_challenge_auth_result_set_pass(result, ME_CHALLENGE_AUTH_RESULTS, detail);
			return TRUE;
		}
	}
	me_challenge_auth_result_add_failure(result, "Authentication-Results of %s: no dkim=pass for %s",
					     header->authserv_id, domain);
	return FALSE;
}

/**
 * me_challenge_check_auth_results:
 * @mail: the challenge
 * @from_addr: its From addr-spec
 * @trusted_authserv_ids: (nullable): authserv-ids to believe
 * @result: where the outcome is recorded
 *
 * Believes an Authentication-Results header (RFC 8601) only from a trusted authserv-id,
 * and of those only the topmost, which the receiving MTA added last; copies further down
 * may have come with the message.  Every Authentication-Results header from the top down to
 * that one must be UTF-8 and read by the RFC 8601 §2.2 grammar: one that does not could be
 * the trusted server's, so it is never passed over to believe one below it, and the mail
 * then is not authenticated this way.  The trusted header must say dkim=pass with header.d
 * equal to the From domain (ASCII case ignored).  Note that RFC 8823's h= list cannot be
 * checked this way.
 *
 * Returns: %TRUE if the trusted header vouches for the From domain
 */
gboolean
me_challenge_check_auth_results(MeMail *mail,
				const gchar *from_addr,
				const gchar *const *trusted_authserv_ids,
				MeChallengeAuthResult *result)
{
	const gchar *domain;

	g_return_val_if_fail(mail != NULL && result != NULL, FALSE);
	domain = from_addr != NULL ? me_addr_spec_get_domain(from_addr) : NULL;
	if (domain == NULL || trusted_authserv_ids == NULL || trusted_authserv_ids[0] == NULL)
		return FALSE;
	for (guint i = 0; i < me_mail_get_n_headers(mail); i++) {
		const gchar *value = me_mail_get_header_value(mail, i);
		g_autoptr(ArHeader) header = NULL;

		if (g_ascii_strcasecmp(me_mail_get_header_name(mail, i), "Authentication-Results") != 0)
			continue;
		if (!g_utf8_validate(value, -1, NULL) || (header = ar_parse(value)) == NULL) {
			/* an unreadable header might be the trusted server's: never look past it */
			me_challenge_auth_result_add_failure(result, "Authentication-Results %u unreadable", i + 1);
			return FALSE;
		}
		if (!ar_id_trusted(header->authserv_id, trusted_authserv_ids)) {
			me_challenge_auth_result_add_failure(result, "Authentication-Results of untrusted %s ignored",
							     header->authserv_id);
			continue;
		}
		return ar_evaluate(header, domain, result);
	}
	me_challenge_auth_result_add_failure(result, "no trusted Authentication-Results");
	return FALSE;
}

/* ---- the full check */

static MeChallengeVerdict *
verdict_new(void)
{
	MeChallengeVerdict *verdict = g_new0(MeChallengeVerdict, 1);
	verdict->matched = -1;
	verdict->date = -1;
	me_challenge_auth_result_init(&verdict->auth);
	return verdict;
}

/**
 * me_challenge_verdict_free:
 * @verdict: (nullable): a verdict
 */
void
me_challenge_verdict_free(MeChallengeVerdict *verdict)
{
	if (verdict == NULL)
		return;
	g_free(verdict->message);
	g_free(verdict->token_part1);
	g_free(verdict->subject);
	g_free(verdict->from);
	g_free(verdict->to);
	g_clear_pointer(&verdict->reply_to, g_ptr_array_unref);
	g_free(verdict->message_id);
	g_strfreev(verdict->references);
	me_challenge_auth_result_clear(&verdict->auth);
	g_free(verdict);
}

/**
 * me_challenge_verdict_describe:
 * @verdict: a verdict
 *
 * The verdict's sentence, and for a mail that could not be authenticated why each method
 * failed, for the person who wonders why a mail was not answered.
 *
 * Returns: (transfer full): the text
 */
gchar *
me_challenge_verdict_describe(const MeChallengeVerdict *verdict)
{
	GString *text = g_string_new(verdict->message != NULL ? verdict->message : "");
	GPtrArray *failures = verdict->auth.failures;

	if (verdict->reason != ME_CHALLENGE_REASON_UNAUTHENTICATED || failures == NULL || failures->len == 0)
		return g_string_free(text, FALSE);
	g_string_append(text, " (");
	for (guint i = 0; i < failures->len; i++)
		g_string_append_printf(text, "%s%s", i > 0 ? "; " : "", (const gchar *)g_ptr_array_index(failures, i));
	g_string_append(text, ")");
	return g_string_free(text, FALSE);
}

/* a mail no method vouched for: either DNS did not answer (the mail may be genuine, and
 * the fix is on this side) or the mail is not the CA's (nothing to fix, wait for the real
 * one); each with its own sentence */
static gchar *
unauthenticated_message(const MeChallengeAuthResult *auth)
{
	if (auth->temporary && auth->dns_name != NULL && auth->dns_server != NULL)
		return g_strdup_printf(
		    /* TRANSLATORS: a DKIM key lookup got no answer; %s are the DNS server (e.g. 127.0.0.1:53) and the key record's name; keep dns-server and mailenroll.conf */
		    _("The DNS server %s did not answer the lookup of the DKIM key %s, so the challenge mail could not be checked yet; check the network or the dns-server setting in mailenroll.conf."),
		    auth->dns_server, auth->dns_name);
	if (auth->temporary && auth->dns_name != NULL)
		return g_strdup_printf(
		    /* TRANSLATORS: a DKIM key lookup through the system's resolver got no answer; %s is the key record's name; keep dns-server and mailenroll.conf */
		    _("The system's DNS resolver did not answer the lookup of the DKIM key %s, so the challenge mail could not be checked yet; check the network, or name a DNS server with dns-server in mailenroll.conf."),
		    auth->dns_name);
	if (auth->temporary)
		/* TRANSLATORS: the checks of a challenge mail ran out of time or DNS lookups; keep dns-server and mailenroll.conf */
		return g_strdup(_("The DNS lookups for the challenge mail's signature got no answer in time, so the mail could not be checked yet; check the network or the dns-server setting in mailenroll.conf."));
	if (auth->results_failed)
		/* TRANSLATORS: a forged mail: the receiving mail server's Authentication-Results header says DKIM failed */
		return g_strdup(_("The receiving mail server found that the mail's DKIM signature does not verify, so the mail is not from the certificate authority; it gets no reply, and there is nothing to do but wait for the genuine challenge mail."));
	if (g_strcmp0(auth->signed_by, "S/MIME") == 0)
		/* TRANSLATORS: a forged mail: its S/MIME signature does not verify */
		return g_strdup(_("The mail's S/MIME signature does not verify, so the mail is not from the certificate authority; it gets no reply, and there is nothing to do but wait for the genuine challenge mail."));
	if (auth->signed_by != NULL)
		/* TRANSLATORS: a forged mail: its DKIM signature does not verify (or is by the wrong domain) */
		return g_strdup(_("The mail's DKIM signature does not verify, so the mail is not from the certificate authority; it gets no reply, and there is nothing to do but wait for the genuine challenge mail."));
	/* TRANSLATORS: a forged mail: no DKIM or S/MIME signature at all */
	return g_strdup(_("The mail carries no DKIM signature, so the mail is not from the certificate authority; it gets no reply, and there is nothing to do but wait for the genuine challenge mail."));
}

static MeChallengeVerdict *
verdict_finish(MeChallengeVerdict *verdict, MeChallengeReason reason)
{
	verdict->reason = reason;
	verdict->answerable = reason == ME_CHALLENGE_REASON_OK;
	/* a step may have said it better already */
	if (verdict->message == NULL && reason == ME_CHALLENGE_REASON_UNAUTHENTICATED)
		verdict->message = unauthenticated_message(&verdict->auth);
	else if (verdict->message == NULL)
		verdict->message = g_strdup(me_challenge_reason_to_string(reason));
	if (verdict->is_challenge && !verdict->answerable)
		g_debug("challenge not answerable: %s", me_challenge_reason_to_nick(reason));
	return verdict;
}

static MeChallengeReason
check_subject(MeChallengeVerdict *verdict, MeMail *mail)
{
	g_autoptr(GError) error = NULL;
	g_autofree gchar *bad_charset = NULL;
	MeChallengeReason reason;

	verdict->subject = me_mail_get_subject(mail, &bad_charset, &error);
	if (verdict->subject == NULL) {
		if (g_error_matches(error, ME_ERROR, ME_ERROR_NOT_FOUND)) {
			verdict->message = g_strdup(
			    /* TRANSLATORS: a mail given as a challenge has no Subject; keep "ACME: " */
			    _("The mail is not an ACME challenge: it has no subject, and a challenge's subject begins with \"ACME: \"."));
			return ME_CHALLENGE_REASON_NOT_CHALLENGE;
		}
		/* an encoded subject we cannot read may still have been a challenge */
		verdict->is_challenge = TRUE;
		if (g_error_matches(error, ME_ERROR, ME_ERROR_NOT_SUPPORTED)) {
			g_debug("subject charset %s refused", bad_charset);
			return ME_CHALLENGE_REASON_BAD_CHARSET;
		}
		return ME_CHALLENGE_REASON_BAD_HEADER_TEXT;
	}
	reason = me_challenge_parse_subject(verdict->subject, &verdict->token_part1);
	verdict->is_challenge = reason != ME_CHALLENGE_REASON_NOT_CHALLENGE;
	if (reason == ME_CHALLENGE_REASON_NOT_CHALLENGE)
		verdict->message = g_strdup_printf(
		    /* TRANSLATORS: a mail given as a challenge is an ordinary mail; %s is its subject; keep "ACME: " */
		    _("The mail is not an ACME challenge: its subject \"%s\" does not begin with \"ACME: \"."),
		    verdict->subject);
	return reason;
}

static MeChallengeReason
check_header_shape(MeMail *mail)
{
	static const gchar *const singletons[] = {"From", "To", "Subject", "Date", "Message-ID",
						  "Reply-To", "Auto-Submitted", "Sender", "Cc"};
	static const gchar *const texts[] = {"From", "To", "Cc", "Reply-To", "Sender", "Auto-Submitted",
					     "Message-ID", "References", "In-Reply-To", "Date"};

	for (guint i = 0; i < G_N_ELEMENTS(singletons); i++) {
		if (me_mail_count_header(mail, singletons[i]) > 1)
			return ME_CHALLENGE_REASON_DUPLICATE_HEADER;
	}
	for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
		const gchar *value = me_mail_get_header(mail, texts[i]);
		if (value != NULL && !g_utf8_validate(value, -1, NULL))
			return ME_CHALLENGE_REASON_BAD_HEADER_TEXT;
	}
	if (me_mail_get_header(mail, "List-Id") != NULL || me_mail_get_header(mail, "List-Post") != NULL)
		return ME_CHALLENGE_REASON_MAILING_LIST;
	return ME_CHALLENGE_REASON_OK;
}

static MeChallengeReason
check_auto_submitted(MeChallengeVerdict *verdict, MeMail *mail)
{
	g_autofree gchar *keyword = me_mail_get_auto_submitted(mail);

	verdict->auto_submitted_missing = me_mail_get_header(mail, "Auto-Submitted") == NULL;
	/* parameters such as type=acme are allowed and not required (RFC 8823 §3.1 item 5) */
	if (g_strcmp0(keyword, "auto-generated") != 0)
		return ME_CHALLENGE_REASON_NOT_AUTO_GENERATED;
	return ME_CHALLENGE_REASON_OK;
}

/* a mail without Auto-Submitted goes on to the other checks only when a pending challenge's
 * CA is allowed to leave the header out; with none, it is refused at once, as RFC 8823 wants */
static gboolean
quirk_may_apply(const MeChallengeVerdict *verdict, const MePendingChallenge *pending, guint n_pending)
{
	if (!verdict->auto_submitted_missing)
		return FALSE;
	for (guint i = 0; i < n_pending; i++) {
		if (pending[i].quirks & ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED)
			return TRUE;
	}
	return FALSE;
}

static gchar *
single_address(MeMail *mail, const gchar *name)
{
	g_autoptr(GPtrArray) addrs = me_mail_get_addresses(mail, name, NULL);

	if (addrs == NULL || addrs->len != 1)
		return NULL;
	return g_strdup(g_ptr_array_index(addrs, 0));
}

static MeChallengeReason
check_addresses(MeChallengeVerdict *verdict, MeMail *mail)
{
	g_autoptr(GError) error = NULL;

	verdict->from = single_address(mail, "From");
	if (verdict->from == NULL)
		return ME_CHALLENGE_REASON_BAD_FROM;
	verdict->to = single_address(mail, "To");
	if (verdict->to == NULL)
		return ME_CHALLENGE_REASON_BAD_TO;
	if (me_mail_get_header(mail, "Reply-To") != NULL) {
		verdict->reply_to = me_mail_get_addresses(mail, "Reply-To", &error);
		if (verdict->reply_to == NULL || verdict->reply_to->len == 0)
			return ME_CHALLENGE_REASON_MALFORMED;
	}
	verdict->references = me_mail_get_references(mail);
	return ME_CHALLENGE_REASON_OK;
}

/* with one request pending, the sentence names what was expected; with several, the
 * table's general one stays */
static void
set_to_mismatch_message(MeChallengeVerdict *verdict, const MePendingChallenge *pending, guint n_pending)
{
	if (n_pending != 1)
		return;
	verdict->message = g_strdup_printf(
	    /* TRANSLATORS: a challenge mail to the wrong mailbox; %s are its To address and the mailbox of the request */
	    _("The challenge mail is addressed to %s, not to %s, the mailbox of the pending request; it is not answered."),
	    verdict->to, pending[0].identifier);
}

static void
set_from_mismatch_message(MeChallengeVerdict *verdict, const MePendingChallenge *pending, guint n_pending)
{
	if (n_pending != 1 || pending[0].from == NULL)
		return;
	verdict->message = g_strdup_printf(
	    /* TRANSLATORS: a challenge mail from the wrong sender; %s are its From address and the CA's announced address */
	    _("The challenge mail comes from %s, not from %s, the address the certificate authority announced; it is not answered."),
	    verdict->from, pending[0].from);
}

static MeChallengeReason
match_pending(MeChallengeVerdict *verdict, const MePendingChallenge *pending, guint n_pending)
{
	guint n_to = 0;
	guint n_both = 0;
	gint found = -1;

	if (n_pending == 0)
		return ME_CHALLENGE_REASON_NO_PENDING;
	for (guint i = 0; i < n_pending; i++) {
		if (!me_addr_spec_equal(pending[i].identifier, verdict->to))
			continue;
		n_to++;
		if (!me_addr_spec_equal(pending[i].from, verdict->from))
			continue;
		n_both++;
		found = (gint)i;
	}
	if (n_to == 0) {
		set_to_mismatch_message(verdict, pending, n_pending);
		return ME_CHALLENGE_REASON_TO_MISMATCH;
	}
	if (n_both == 0) {
		set_from_mismatch_message(verdict, pending, n_pending);
		return ME_CHALLENGE_REASON_FROM_MISMATCH;
	}
	if (n_both > 1)
		return ME_CHALLENGE_REASON_AMBIGUOUS;
	verdict->matched = found;
	if (pending[found].answered)
		return ME_CHALLENGE_REASON_ALREADY_ANSWERED;
	return ME_CHALLENGE_REASON_OK;
}

static MeChallengeReason
check_fresh(MeChallengeVerdict *verdict, MeMail *mail, const MePendingChallenge *p, const MeChallengeOptions *opt)
{
	gint64 now = opt->now > 0 ? opt->now : g_get_real_time() / G_USEC_PER_SEC;
	gint64 max_age = opt->max_age > 0 ? opt->max_age : ME_CHALLENGE_MAX_AGE_DEFAULT;
	gint64 skew = opt->clock_skew == 0 ? ME_CHALLENGE_CLOCK_SKEW_DEFAULT : MAX(opt->clock_skew, 0);

	if (p->expires > 0 && now >= p->expires)
		return ME_CHALLENGE_REASON_AUTHZ_EXPIRED;
	/* the Random Value lives at most 24 h from its creation, which follows the fetch */
	if (p->fetched_at <= 0 || now - p->fetched_at > max_age || p->fetched_at > now + skew)
		return ME_CHALLENGE_REASON_STALE;
	if (verdict->date < 0)
		return me_mail_get_header(mail, "Date") != NULL ? ME_CHALLENGE_REASON_STALE
								: ME_CHALLENGE_REASON_OK;
	if (now - verdict->date > max_age || verdict->date > now + skew ||
	    verdict->date < p->fetched_at - skew)
		return ME_CHALLENGE_REASON_STALE;
	return ME_CHALLENGE_REASON_OK;
}

static MeChallengeReason
check_authentic(MeChallengeVerdict *verdict, MeMail *mail, const MeChallengeOptions *opt)
{
	MeChallengeAuthResult *auth = &verdict->auth;

	if (me_challenge_check_auth_results(mail, verdict->from, opt->trusted_authserv_ids, auth))
		return ME_CHALLENGE_REASON_OK;
	if (opt->auth_func != NULL) {
		gboolean ok = opt->auth_func(me_mail_get_crlf(mail), verdict->from, verdict->to, verdict->subject,
					     ME_CHALLENGE_AUTH_RULE_RFC8823, auth, opt->auth_user_data);
		/* a hook that says yes without naming how, or names how but says no, is a no */
		if (ok && auth->method != ME_CHALLENGE_AUTH_NONE)
			return ME_CHALLENGE_REASON_OK;
	}
	auth->method = ME_CHALLENGE_AUTH_NONE;
	g_clear_pointer(&auth->detail, g_free);
	return ME_CHALLENGE_REASON_UNAUTHENTICATED;
}

/* the missing-auto-submitted quirk: only the CA's own DKIM signature over the other 12
 * names stands in for the missing header; a receiving server's Authentication-Results
 * cannot say which names were signed, and S/MIME header protection is not what the CA
 * was seen to use, so neither counts here */
static MeChallengeReason
check_authentic_without_auto_submitted(MeChallengeVerdict *verdict, MeMail *mail, const MeChallengeOptions *opt)
{
	MeChallengeAuthResult *auth = &verdict->auth;
	g_autofree gchar *detail = NULL;

	if (opt->auth_func != NULL &&
	    opt->auth_func(me_mail_get_crlf(mail), verdict->from, verdict->to, verdict->subject,
			   ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED, auth, opt->auth_user_data) &&
	    auth->method == ME_CHALLENGE_AUTH_DKIM) {
		verdict->quirks_used |= ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED;
		detail = g_strdup_printf("%s, quirk %s", auth->detail != NULL ? auth->detail : "DKIM",
					 ME_CHALLENGE_QUIRK_NAME_MISSING_AUTO_SUBMITTED);
		g_free(auth->detail);
		auth->detail = g_steal_pointer(&detail);
		return ME_CHALLENGE_REASON_OK;
	}
	auth->method = ME_CHALLENGE_AUTH_NONE;
	g_clear_pointer(&auth->detail, g_free);
	if (!auth->temporary)
		verdict->message = g_strdup(
		    /* TRANSLATORS: a challenge mail without the Auto-Submitted header, for a CA whose profile allows that
		     * (keep quirks=missing-auto-submitted), lacks the DKIM signature that must then vouch for it */
		    _("The challenge mail has no Auto-Submitted header, and quirks=missing-auto-submitted accepts such a mail only with a DKIM signature by the sender's domain that covers the other header fields RFC 8823 requires; this mail has none that verifies, so it gets no reply."));
	return ME_CHALLENGE_REASON_UNAUTHENTICATED;
}

/* after the pending challenge is known: a mail without Auto-Submitted needs the quirk on
 * that very challenge, and then the stricter authenticity rule */
static MeChallengeReason
check_authentic_for(MeChallengeVerdict *verdict,
		    MeMail *mail,
		    const MePendingChallenge *matched,
		    const MeChallengeOptions *opt)
{
	if (!verdict->auto_submitted_missing)
		return check_authentic(verdict, mail, opt);
	if (!(matched->quirks & ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED))
		return ME_CHALLENGE_REASON_NOT_AUTO_GENERATED;
	return check_authentic_without_auto_submitted(verdict, mail, opt);
}

static MeChallengeReason
inspect_steps(MeChallengeVerdict *verdict,
	      MeMail *mail,
	      const MePendingChallenge *pending,
	      guint n_pending,
	      const MeChallengeOptions *opt)
{
	MeChallengeReason reason;

	/* first, so that even a mail refused at once can be named by its Message-ID and date */
	verdict->message_id = me_mail_get_message_id(mail);
	verdict->date = me_mail_get_date(mail);
	if ((reason = check_subject(verdict, mail)) != ME_CHALLENGE_REASON_OK)
		return reason;
	if ((reason = check_header_shape(mail)) != ME_CHALLENGE_REASON_OK)
		return reason;
	if ((reason = check_auto_submitted(verdict, mail)) != ME_CHALLENGE_REASON_OK &&
	    !quirk_may_apply(verdict, pending, n_pending))
		return reason;
	if ((reason = check_addresses(verdict, mail)) != ME_CHALLENGE_REASON_OK)
		return reason;
	if ((reason = match_pending(verdict, pending, n_pending)) != ME_CHALLENGE_REASON_OK)
		return reason;
	if ((reason = check_fresh(verdict, mail, &pending[verdict->matched], opt)) != ME_CHALLENGE_REASON_OK)
		return reason;
	return check_authentic_for(verdict, mail, &pending[verdict->matched], opt);
}

/**
 * me_challenge_inspect_mail:
 * @mail: a parsed message
 * @pending: (array length=n_pending) (nullable): the challenges waiting for mail
 * @n_pending: their number
 * @options: (nullable): clock, authenticity and limits; %NULL trusts nothing
 *
 * Runs every check of RFC 8823 §3.1 (C1–C7 of docs/standards.md §1.3) plus freshness
 * and matching, in this order: subject, header shape, Auto-Submitted, From/To, the
 * pending challenge, freshness, and last authenticity.  The first failure decides.  A mail
 * without Auto-Submitted is refused at that step unless a pending challenge has
 * %ME_CHALLENGE_QUIRK_MISSING_AUTO_SUBMITTED; then it must match such a challenge and pass
 * %ME_CHALLENGE_AUTH_RULE_DKIM_WITHOUT_AUTO_SUBMITTED instead of the usual authenticity check.
 * @matched may be set on a verdict that is not answerable (e.g. stale), so the caller
 * knows which request the mail concerned.
 *
 * Returns: (transfer full): the verdict; never %NULL
 */
MeChallengeVerdict *
me_challenge_inspect_mail(MeMail *mail,
			  const MePendingChallenge *pending,
			  guint n_pending,
			  const MeChallengeOptions *options)
{
	MeChallengeOptions none = {0};
	MeChallengeVerdict *verdict = verdict_new();

	g_return_val_if_fail(mail != NULL, verdict_finish(verdict, ME_CHALLENGE_REASON_MALFORMED));
	if (pending == NULL)
		n_pending = 0;
	return verdict_finish(verdict, inspect_steps(verdict, mail, pending, n_pending,
						     options != NULL ? options : &none));
}

/**
 * me_challenge_inspect:
 * @data: the raw message as a mail client handed it over
 * @len: its size
 * @pending: (array length=n_pending) (nullable): the challenges waiting for mail
 * @n_pending: their number
 * @options: (nullable): clock, authenticity and limits; %NULL trusts nothing
 *
 * Parses @data (see me_mail_new_from_data()) and checks it with
 * me_challenge_inspect_mail().  A message that cannot be parsed gets
 * %ME_CHALLENGE_REASON_TOO_LARGE or %ME_CHALLENGE_REASON_MALFORMED.
 *
 * Returns: (transfer full): the verdict; never %NULL
 */
MeChallengeVerdict *
me_challenge_inspect(const gchar *data,
		     gsize len,
		     const MePendingChallenge *pending,
		     guint n_pending,
		     const MeChallengeOptions *options)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(MeMail) mail = NULL;
	MeChallengeVerdict *verdict;

	mail = me_mail_new_from_data(data != NULL ? data : "", data != NULL ? len : 0,
				     options != NULL ? options->limits : NULL, &error);
	if (mail != NULL)
		return me_challenge_inspect_mail(mail, pending, n_pending, options);
	verdict = verdict_new();
	verdict->is_challenge = me_challenge_quick_check(data, len);
	g_debug("message not parsed: %s", error->message);
	return verdict_finish(verdict, g_error_matches(error, ME_ERROR, ME_ERROR_TOO_LARGE)
					   ? ME_CHALLENGE_REASON_TOO_LARGE
					   : ME_CHALLENGE_REASON_MALFORMED);
}

/* ---- token join, key authorization, digest */

static MeSecretStr *
join_binary(const gchar *part1, const gchar *part2, GError **error)
{
	g_autoptr(GBytes) raw1 = token_decode(part1, error);
	g_autoptr(GBytes) raw2 = NULL;
	gsize len1 = 0, len2 = 0;
	const guint8 *d1, *d2;
	guint8 *buf;
	gchar *out;

	if (raw1 == NULL)
		return NULL;
	raw2 = token_decode(part2, error);
	if (raw2 == NULL)
		return NULL;
	d1 = g_bytes_get_data(raw1, &len1);
	d2 = g_bytes_get_data(raw2, &len2);
	buf = g_malloc(len1 + len2 + 1);
	if (len1 > 0)
		memcpy(buf, d1, len1);
	if (len2 > 0)
		memcpy(buf + len1, d2, len2);
	out = me_b64u_encode(buf, len1 + len2);
	me_secure_free(buf, len1 + len2 + 1);
	return out;
}

/**
 * me_challenge_join_token:
 * @token_part1: from the challenge subject (white space is removed here too)
 * @token_part2: from the challenge object
 * @join: the CA profile's join
 * @error: (nullable): return location
 *
 * Returns: (transfer full): the ACME token (wiped when freed), or %NULL with @error set
 */
MeSecretStr *
me_challenge_join_token(const gchar *token_part1,
			const gchar *token_part2,
			MeTokenJoin join,
			GError **error)
{
	g_autofree gchar *p1 = NULL;
	g_autofree gchar *p2 = NULL;

	g_return_val_if_fail(token_part1 != NULL && token_part2 != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	p1 = strip_whitespace(token_part1, ME_CHALLENGE_TOKEN_MAX_LEN);
	p2 = strip_whitespace(token_part2, ME_CHALLENGE_TOKEN_MAX_LEN);
	if (join == ME_TOKEN_JOIN_BINARY)
		return join_binary(p1, p2, error);
	if (!token_syntax_ok(p1) || !token_syntax_ok(p2)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_DATA,
				    /* TRANSLATORS: a challenge token is malformed */
				    _("A challenge token is not valid base64url text."));
		return NULL;
	}
	return g_strconcat(p1, p2, NULL);
}

/**
 * me_challenge_key_authorization:
 * @token_part1: from the challenge subject
 * @token_part2: from the challenge object
 * @join: the CA profile's join
 * @thumbprint: the account key's JWK thumbprint (me_jwk_thumbprint())
 * @error: (nullable): return location
 *
 * Returns: (transfer full): `token.thumbprint` (RFC 8555 §8.1), wiped when freed, or
 *   %NULL with @error set
 */
MeSecretStr *
me_challenge_key_authorization(const gchar *token_part1,
			       const gchar *token_part2,
			       MeTokenJoin join,
			       const gchar *thumbprint,
			       GError **error)
{
	g_autoptr(MeSecretStr) token = NULL;

	g_return_val_if_fail(thumbprint != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!me_b64u_is_valid(thumbprint, THUMBPRINT_MAX_LEN)) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: the account key's thumbprint is malformed */
				    _("The account key thumbprint is not valid base64url text."));
		return NULL;
	}
	token = me_challenge_join_token(token_part1, token_part2, join, error);
	if (token == NULL)
		return NULL;
	return g_strconcat(token, ".", thumbprint, NULL);
}

/**
 * me_challenge_digest:
 * @token_part1: from the challenge subject
 * @token_part2: from the challenge object
 * @join: the CA profile's join
 * @thumbprint: the account key's JWK thumbprint
 * @error: (nullable): return location
 *
 * The response of RFC 8823 §3 step 6: base64url(SHA-256(keyAuthorization)), unpadded
 * (43 characters), as RFC 8555 §6.1 encodes every binary field.
 *
 * Returns: (transfer full): the digest, or %NULL with @error set
 */
gchar *
me_challenge_digest(const gchar *token_part1,
		    const gchar *token_part2,
		    MeTokenJoin join,
		    const gchar *thumbprint,
		    GError **error)
{
	g_autoptr(MeSecretStr) key_auth = NULL;
	guint8 md[EVP_MAX_MD_SIZE];
	guint md_len = 0;
	gchar *out;

	g_return_val_if_fail(error == NULL || *error == NULL, NULL);
	key_auth = me_challenge_key_authorization(token_part1, token_part2, join, thumbprint, error);
	if (key_auth == NULL)
		return NULL;
	if (EVP_Digest(key_auth, strlen(key_auth), md, &md_len, EVP_sha256(), NULL) != 1) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_CRYPTO,
				    /* TRANSLATORS: an internal OpenSSL failure */
				    _("The challenge response could not be computed."));
		return NULL;
	}
	out = me_b64u_encode(md, md_len);
	me_secure_wipe(md, sizeof(md));
	return out;
}

/**
 * me_challenge_digest_equal:
 * @a: (nullable): a digest
 * @b: (nullable): another
 *
 * Returns: %TRUE if equal, compared in constant time
 */
gboolean
me_challenge_digest_equal(const gchar *a, const gchar *b)
{
	return me_streq_ct(a, b);
}

/* ---- the reply (RFC 8823 §3.2, R1–R11 of docs/standards.md §1.5) */

static gchar *
reply_references(const MeChallengeVerdict *verdict)
{
	g_autoptr(GString) out = g_string_new(NULL);

	for (guint i = 0; verdict->references != NULL && verdict->references[i] != NULL; i++) {
		/* keep the header bounded: the first and the latest ids matter (RFC 5322 §3.6.4) */
		if (i > 0 && g_strv_length(verdict->references) - i > 32)
			continue;
		g_string_append_printf(out, "%s%s", out->len > 0 ? " " : "", verdict->references[i]);
	}
	if (verdict->message_id != NULL)
		g_string_append_printf(out, "%s%s", out->len > 0 ? " " : "", verdict->message_id);
	if (out->len == 0)
		return NULL;
	return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
reply_set_recipients(MeMailReply *reply, const MeChallengeVerdict *verdict)
{
	/* R3: every Reply-To address, else From; never Cc (R4) */
	if (verdict->reply_to != NULL && verdict->reply_to->len > 0) {
		for (guint i = 0; i < verdict->reply_to->len; i++)
			g_ptr_array_add(reply->to, g_strdup(g_ptr_array_index(verdict->reply_to, i)));
		return;
	}
	g_ptr_array_add(reply->to, g_strdup(verdict->from));
}

/**
 * me_challenge_build_reply:
 * @verdict: an answerable verdict
 * @pending: the pending challenge it matched
 * @thumbprint: the account key's JWK thumbprint
 * @auto_replied: no person approved this reply (policy did): `Auto-Submitted: auto-replied`
 * @error: (nullable): return location
 *
 * The reply: From the identifier, To the Reply-To addresses (else From), `Subject: Re:
 * ACME: <token-part1>`, In-Reply-To and References, a new Message-ID in the identifier's
 * domain, the date, and a text/plain body holding the response block.  Serialise it with
 * me_mail_reply_serialize(), or hand the fields to a mail client's compose API.
 *
 * Returns: (transfer full): the reply, or %NULL with @error set
 */
MeMailReply *
me_challenge_build_reply(const MeChallengeVerdict *verdict,
			 const MePendingChallenge *pending,
			 const gchar *thumbprint,
			 gboolean auto_replied,
			 GError **error)
{
	g_autoptr(MeMailReply) reply = NULL;
	g_autofree gchar *digest = NULL;

	g_return_val_if_fail(verdict != NULL && pending != NULL && thumbprint != NULL, NULL);
	g_return_val_if_fail(error == NULL || *error == NULL, NULL);

	if (!verdict->answerable || verdict->token_part1 == NULL ||
	    !me_addr_spec_equal(pending->identifier, verdict->to) || pending->token_part2 == NULL) {
		g_set_error_literal(error, ME_ERROR, ME_ERROR_INVALID_ARGUMENT,
				    /* TRANSLATORS: an internal check before answering a challenge */
				    _("Only an authentic challenge for this request can be answered."));
		return NULL;
	}
	digest = me_challenge_digest(verdict->token_part1, pending->token_part2, pending->token_join,
				     thumbprint, error);
	if (digest == NULL)
		return NULL;
	reply = me_mail_reply_new();
	reply->from = g_strdup(pending->identifier);
	reply_set_recipients(reply, verdict);
	reply->subject = g_strdup_printf("Re: ACME: %s", verdict->token_part1);
	reply->in_reply_to = g_strdup(verdict->message_id);
	reply->references = reply_references(verdict);
	reply->message_id = me_mail_make_message_id(me_addr_spec_get_domain(pending->identifier));
	reply->date = g_get_real_time() / G_USEC_PER_SEC;
	reply->body = g_strdup_printf(ACME_RESPONSE_BEGIN "\r\n%s\r\n" ACME_RESPONSE_END "\r\n", digest);
	reply->auto_replied = auto_replied;
	return g_steal_pointer(&reply);
}
