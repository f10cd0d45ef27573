user_pref("a", "unterminated);
