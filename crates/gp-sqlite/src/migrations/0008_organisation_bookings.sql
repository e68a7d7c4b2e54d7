-- Schema version 8: bookings made by other NHS organisations (GP Connect),
-- and appointments of several adjacent slots.
--
-- A practice caps how many live appointments one organisation may hold:
-- `organisation` is the ODS code of the organisation that booked (NULL for
-- patients, proxies and staff). A further slot of an appointment of several
-- slots names the appointment's first booking in `joined_to`, so that
-- cancelling it cancels them together. Both are copies of the booking's
-- body, written with it. Existing bookings are all single slots booked by
-- patients, proxies and staff: NULL in both, nothing rewritten.
ALTER TABLE bookings ADD COLUMN organisation TEXT;
ALTER TABLE bookings ADD COLUMN joined_to TEXT;
CREATE INDEX live_bookings_by_organisation ON bookings(organisation)
    WHERE cancelled = 0 AND organisation IS NOT NULL;
CREATE INDEX bookings_joined ON bookings(joined_to) WHERE joined_to IS NOT NULL;
