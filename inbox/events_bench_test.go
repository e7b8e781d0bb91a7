package inbox

import (
	"bytes"
	"testing"
	"time"
)

// benchMessageCreated is the event most often written: a client's new
// message, a Telegram photo with a caption, in a conversation that an
// operator holds and whose answer timer runs.
func benchMessageCreated() PendingEvent {
	at := time.Date(2026, 11, 22, 10, 1, 2, 345678000, time.UTC)
	assignee := int64(12)
	due := at.Add(15 * time.Minute)
	m := Message{ID: 184467, ConversationID: 9031, Direction: DirectionIn, Kind: KindText,
		Text:        "Здравствуйте! Сколько стоит доставка дивана в Казань? Вот фото того, что хочу.",
		Attachments: []Attachment{{URL: "/files/3f0c8e1a9b7d4c2e/photo.jpg", Name: "photo.jpg", MIME: "image/jpeg", Size: 184321}},
		Meta:        map[string]string{"telegram_username": "ivan_petrov", "reply_to": "555644284:1203"},
		ExternalID:  "555644284:1204", CreatedAt: at}
	c := Conversation{ID: 9031, ClientID: 5512, ClientName: "Иван Петров", ChannelID: "tg", ChannelType: ChannelTelegram,
		Status: StatusOpen, AssigneeID: &assignee, Unread: 3, LastMessageAt: at, CreatedAt: at.Add(-48 * time.Hour),
		WaitingSince: &at, SLADueAt: &due, SLAKind: SLANext}
	return MessageCreated(m, c)
}

// BenchmarkEncodeEvent is the JSON of an event's data as the store writes it
// beside the change, in the same transaction (store.writeEvents): one
// message.created, message and conversation in full. The websocket frame
// around it is web's BenchmarkEventFrame.
//
//	go test -run '^$' -bench EncodeEvent ./inbox/
func BenchmarkEncodeEvent(b *testing.B) {
	ev := benchMessageCreated()
	b.ReportAllocs()
	for b.Loop() {
		data, err := ev.Encode()
		if err != nil || !bytes.HasPrefix(data, []byte(`{"message":{"id":184467,`)) {
			b.Fatal(string(data), err)
		}
	}
}
