user_pref("s", "tab\t nl\n x\x41 u\u00e9 surrogate \ud83d\ude00 lone \ud800");
