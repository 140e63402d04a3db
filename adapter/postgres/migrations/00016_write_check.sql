-- socialrx_write_check fails its statement, and so the transaction, with
-- message when ok is not true. A write sent deferred (adapter/postgres
-- put.go: a create of a freshly minted id, an update of a row the
-- transaction holds locked) has no result anyone reads at once: instead of
-- returning a count for the store to check, it checks itself, so that a
-- write that found its row missing or its id taken can never pass
-- silently.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION socialrx_write_check(ok boolean, message text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION '%', message USING ERRCODE = 'internal_error';
    END IF;
    RETURN 1;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION socialrx_write_check(boolean, text);
