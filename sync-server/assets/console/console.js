/* placeholder: replaced by the console's real stylesheet/script */
