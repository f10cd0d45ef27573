# hash comment
/* block
 comment */
user_pref("a", /* inline */ "b"); // trailing
