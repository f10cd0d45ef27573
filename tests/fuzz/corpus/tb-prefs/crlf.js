user_pref("mail.identity.id3.useremail", "alexey@example.com");
user_pref("x", true);
