pref("a.b", "c");
sticky_pref("d", true);
user_pref("e", 1.5);
locked_pref("f", "g", locked);
