user_pref("a", -2147483648);
user_pref("b", 99999999999999999999);
user_pref("c", +1);
