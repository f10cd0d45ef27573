/*
 * Copyright 2026 The mailenroll authors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * Raw mail in, reply mail out.  This is the only file that touches GMime.
 *
 * A #MeMail is built from the bytes a mail client handed over (Thunderbird's
 * messages.getRaw(), a file, stdin).  Parsing:
 *
 *  - drops the `From ` mbox separator and the `X-Mozilla-Status:`, `X-Mozilla-Status2:`
 *    and `X-Mozilla-Keys:` lines Thunderbird puts in front of the real message;
 *  - turns every line end into CRLF and keeps those bytes (me_mail_get_crlf()) for the
 *    DKIM and S/MIME verifiers, which must see the message as sent, not as GMime would
 *    write it again;
 *  - reads the header block itself, so that every header value a caller gets is exactly
 *    the unfolded text the verifiers hashed;
 *  - parses the MIME structure with GMime, for the media type and the nesting depth.
 *
 * Everything is bounded (#MeMailLimits); going over a bound is %ME_ERROR_TOO_LARGE.
 */

#define ME_MAIL_MAX_SIZE_DEFAULT	 (10u * 1024u * 1024u)
#define ME_MAIL_MAX_HEADER_BLOCK_DEFAULT (256u * 1024u)
#define ME_MAIL_MAX_HEADERS_DEFAULT	 1000u
#define ME_MAIL_MAX_DEPTH_DEFAULT	 32u

/**
 * MeMailLimits:
 * @max_size: the most bytes a message may have (0: %ME_MAIL_MAX_SIZE_DEFAULT)
 * @max_header_block: the most bytes of the header block (0: the default)
 * @max_headers: the most header fields (0: the default)
 * @max_depth: the deepest MIME nesting, multiparts and message/rfc822 parts counted
 *   (0: the default)
 *
 * Bounds for one parse.  A zeroed struct, or %NULL where one is taken, means the defaults.
 */
typedef struct {
	gsize max_size;
	gsize max_header_block;
	guint max_headers;
	guint max_depth;
} MeMailLimits;

typedef struct _MeMail MeMail;

MeMail *
me_mail_new_from_bytes(GBytes *raw, const MeMailLimits *limits, GError **error);
MeMail *
me_mail_new_from_data(const gchar *data, gsize len, const MeMailLimits *limits, GError **error);
MeMail *
me_mail_new_from_stream(GInputStream *stream,
			const MeMailLimits *limits,
			GCancellable *cancellable,
			GError **error);
void
me_mail_free(MeMail *mail);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeMail, me_mail_free)

GBytes *
me_mail_get_crlf(MeMail *mail);
gsize
me_mail_get_stripped_prefix_len(MeMail *mail);
guint
me_mail_get_n_headers(MeMail *mail);
const gchar *
me_mail_get_header_name(MeMail *mail, guint idx);
const gchar *
me_mail_get_header_value(MeMail *mail, guint idx);
const gchar *
me_mail_get_header(MeMail *mail, const gchar *name);
guint
me_mail_count_header(MeMail *mail, const gchar *name);
gboolean
me_mail_has_header_prefix(MeMail *mail, const gchar *prefix);
GPtrArray *
me_mail_get_addresses(MeMail *mail, const gchar *name, GError **error);
gchar *
me_mail_get_subject(MeMail *mail, gchar **bad_charset, GError **error);
gchar *
me_mail_get_message_id(MeMail *mail);
GStrv
me_mail_get_references(MeMail *mail);
gchar *
me_mail_get_in_reply_to(MeMail *mail);
gchar *
me_mail_get_auto_submitted(MeMail *mail);
gint64
me_mail_get_date(MeMail *mail);
const gchar *
me_mail_get_media_type(MeMail *mail);

gchar *
me_mail_decode_header_text(const gchar *text, gchar **bad_charset, GError **error);
gboolean
me_addr_spec_equal(const gchar *a, const gchar *b);
const gchar *
me_addr_spec_get_domain(const gchar *addr_spec);
gboolean
me_addr_spec_is_valid(const gchar *addr_spec);

/**
 * MeMailReply:
 * @from: the sender's addr-spec (the ACME identifier)
 * @to: (element-type utf8): recipients' addr-specs, at least one
 * @subject: the subject, unfolded; me_mail_reply_serialize() folds it
 * @in_reply_to: (nullable): the parent's Message-ID, with angle brackets
 * @references: (nullable): msg-ids separated by one space, with angle brackets
 * @message_id: the new Message-ID, with angle brackets
 * @date: seconds since the epoch
 * @body: the body: US-ASCII lines, each ending in CRLF
 * @auto_replied: sent with no person involved: `Auto-Submitted: auto-replied`
 *
 * A reply as separate fields, for a mail client that sends through its own compose
 * API, and as input to me_mail_reply_serialize().
 */
typedef struct {
	gchar *from;
	GPtrArray *to;
	gchar *subject;
	gchar *in_reply_to;
	gchar *references;
	gchar *message_id;
	gint64 date;
	gchar *body;
	gboolean auto_replied;
} MeMailReply;

MeMailReply *
me_mail_reply_new(void);
void
me_mail_reply_free(MeMailReply *reply);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MeMailReply, me_mail_reply_free)
gchar *
me_mail_make_message_id(const gchar *domain);
GBytes *
me_mail_reply_serialize(const MeMailReply *reply, GError **error);

G_END_DECLS
