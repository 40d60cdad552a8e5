-- PostgreSQL dialect. A lost phone reveals nothing: each device's escrow key (the device wraps
-- its store's data key with it, so a worker who forgot the PIN gets the store back after a
-- password sign-in; cleared when the device is revoked), and when a revoked device confirmed
-- its wipe.
ALTER TABLE devices ADD COLUMN escrow_key TEXT;
ALTER TABLE devices ADD COLUMN wiped_at TIMESTAMPTZ;
