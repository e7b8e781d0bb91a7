-- login_failures keyed an account's failures on "account:<what was typed
-- into the email field>", and people type passwords there: a password
-- could sit in this table in clear. The key is now "account:<SHA-256 of
-- the normalized email>" (inbox.LoginAccountKey). The old rows are not
-- converted, only deleted: they are short-lived counters (a window and a
-- lockout of minutes), so forgetting them at worst ends a lockout early,
-- and converting would mean hashing the plain text in SQL anyway.
-- Addresses' rows ("ip:<address>") keep their meaning and stay.
DELETE FROM login_failures WHERE key LIKE 'account:%';
