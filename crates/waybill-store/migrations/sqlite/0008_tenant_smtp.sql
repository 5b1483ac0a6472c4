-- A tenant's own SMTP server (its URL, with the password, sealed like every other credential).
ALTER TABLE notification_settings ADD COLUMN sealed_smtp TEXT;
