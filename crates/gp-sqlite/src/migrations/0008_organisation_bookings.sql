-- Schema version 8: bookings made by other NHS organisations (GP Connect).
--
-- A practice caps how many live appointments one organisation may hold;
-- counting them reads the live bookings an organisation made, found by the
-- ODS code in the booking's body. Existing bookings are all patients',
-- proxies' and staff's: nothing is rewritten.
CREATE INDEX live_bookings_by_organisation
    ON bookings(json_extract(body, '$.booked_by.Organisation.ods'))
    WHERE cancelled = 0;
