-- Client segments (issue 16): a marketer's saved filter of the client base.
-- The filter is the JSON of inbox.ClientFilter, kept as written (a "30d"
-- stays relative). team is the name of the team it is shared with, '' for
-- its owner alone.
CREATE TABLE segments (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    filter     TEXT NOT NULL,
    owner_id   INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    team       TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX segments_owner_idx ON segments (owner_id);
CREATE INDEX segments_team_idx ON segments (team) WHERE team <> '';

-- A segment counts the live base: every count reads only the cards that
-- can be in one, and a scan of this narrow index (the two columns of
-- clients a filter reads, and the rowid every index holds) is what an
-- unfiltered count costs. SQLite would not scan an index of the rowid
-- alone instead of the table.
CREATE INDEX clients_live_idx ON clients (created_at, do_not_contact)
    WHERE merged_into IS NULL AND erased_at IS NULL AND NOT spam;
-- "Has an open conversation" and "has a conversation in channel X" look up
-- a card's conversations by client first.
CREATE INDEX conversations_client_channel_idx ON conversations (client_id, channel_id, status);
