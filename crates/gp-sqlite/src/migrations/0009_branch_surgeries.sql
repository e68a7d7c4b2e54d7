-- Schema version 9: the surgery a slot's session is held at.
--
-- A practice with branch surgeries names the surgery of each session by its
-- ODS site code (`site`, a copy of the session's own, written with the
-- slot; NULL is the practice's own main surgery). Existing slots are all at
-- the main surgery: NULL, nothing rewritten.
ALTER TABLE slots ADD COLUMN site TEXT;
