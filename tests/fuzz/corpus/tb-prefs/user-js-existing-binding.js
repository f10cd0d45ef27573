user_pref("mail.identity.id1.signing_cert_name", "old");
user_pref("mail.identity.id1.sign_mail", false);
/* keep */ user_pref("other", 1);
