-- What batchesd key list shows of a key besides its id (which is derived
-- from its hash, domain.KeyID): its first characters (domain.KeyPrefix),
-- kept when it is registered; NULL for the keys registered before.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN prefix text;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN prefix;
