-- Who each event is for (inbox.Audience), written in the transaction that
-- writes the event, so that websockets, alerts and outgoing webhooks decide
-- from columns instead of reading payloads or guessing from the type.
ALTER TABLE events ADD COLUMN audience TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN conversation_id INTEGER;
ALTER TABLE events ADD COLUMN channel_id TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN assignee_id INTEGER;
ALTER TABLE events ADD COLUMN operator_id INTEGER;

-- Events written before this migration get the audience their type implies.
UPDATE events SET audience = 'admins', operator_id = json_extract(data, '$.operator.id')
    WHERE type = 'operator.updated';
UPDATE events SET audience = 'admins' WHERE type = 'team.updated';
UPDATE events SET audience = 'nobody', operator_id = json_extract(data, '$.operator_id')
    WHERE type = 'operator.credentials_revoked';
UPDATE events SET audience = 'conversation', conversation_id = COALESCE(
        json_extract(data, '$.conversation.id'), json_extract(data, '$.message.conversation_id'))
    WHERE type IN ('message.created', 'message.updated', 'conversation.created', 'conversation.updated');
UPDATE events SET channel_id = c.channel_id, assignee_id = c.assignee_id
    FROM conversations c WHERE c.id = events.conversation_id AND events.audience = 'conversation';
UPDATE events SET audience = 'card',
        client_id = COALESCE(client_id, json_extract(data, '$.suggestion.client_id'))
    WHERE audience = '';
