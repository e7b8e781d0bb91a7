-- What each operator has read of each conversation. conversations.unread
-- counts the client's messages nobody has answered; an operator's own
-- unread is how many of those came after read_upto (a message id), at
-- least 1 when they marked the conversation unread. No row: they have not
-- opened it, and its unread count is theirs too.
CREATE TABLE conversation_reads (
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    operator_id     BIGINT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    read_upto       BIGINT NOT NULL,
    marked_unread   BOOLEAN NOT NULL DEFAULT false,
    read_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (operator_id, conversation_id)
);
CREATE INDEX conversation_reads_conversation_idx ON conversation_reads (conversation_id);
