package web

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/leadhub/leadhub/inbox"
)

// FileOpener opens stored attachments by id (store/filestore implements it).
type FileOpener interface {
	Open(ctx context.Context, id string) (io.ReadSeekCloser, inbox.Attachment, error)
}

// filesHandler serves attachments to operators. Files come from customers,
// so nothing is ever rendered as a page of ours: only media and PDFs are
// shown inline, everything else is a download, and a sandbox CSP keeps even
// a disguised HTML file inert.
type filesHandler struct {
	files  FileOpener
	store  Store
	access *access
	// signKeys are the secrets signed links are checked with, by channel.
	signKeys map[string]string
}

// inlineTypes are shown in the page (img, audio, video players, PDFs).
var inlineTypes = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"audio/mpeg": true, "audio/ogg": true, "audio/wav": true, "audio/mp4": true,
	"video/mp4": true, "video/webm": true, "application/pdf": true,
}

// serveSigned answers GET /files/signed/{channel}/{id}/{name}?exp=&sig=:
// a link an integration got in a reply's callback, signed with its
// channel's secret (inbox.FileSignature). A bad or expired one is 404,
// like a file that does not exist.
func (h *filesHandler) serveSigned(w http.ResponseWriter, r *http.Request) {
	channel, id := r.PathValue("channel"), r.PathValue("id")
	exp, _ := strconv.ParseInt(r.URL.Query().Get("exp"), 10, 64)
	secret := h.signKeys[channel]
	if h.files == nil || !inbox.FileSignatureValid(secret, channel, id, exp, r.URL.Query().Get("sig"), time.Now()) {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "file not found"))
		return
	}
	h.send(w, r, id)
}

func (h *filesHandler) serve(w http.ResponseWriter, r *http.Request) {
	if h.files == nil {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "file not found"))
		return
	}
	// Files are served like the messages they came with: an operator who
	// cannot see any of those messages gets the same 404 as for a file that
	// does not exist. The id is the content's hash, so knowing the bytes
	// must not be enough.
	sc, err := h.access.requestScope(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ok, err := h.store.FileVisible(r.Context(), sc, r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	if !ok {
		writeError(w, r, inbox.Errorf(inbox.ENOTFOUND, "file not found"))
		return
	}
	h.send(w, r, r.PathValue("id"))
}

// send writes stored file id: media and PDFs inline, anything else as a
// download, never as a page of ours.
func (h *filesHandler) send(w http.ResponseWriter, r *http.Request, id string) {
	f, att, err := h.files.Open(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer f.Close()
	mime := strings.ToLower(strings.TrimSpace(strings.Split(att.MIME, ";")[0]))
	disposition := "inline"
	if !inlineTypes[mime] {
		mime, disposition = "application/octet-stream", "attachment"
	}
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Content-Disposition", disposition+"; filename*=UTF-8''"+url.PathEscape(att.Name))
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'")
	w.Header().Set("Cache-Control", "private, max-age=86400, immutable")
	// Content-addressed: the id is the content's hash, so it is its ETag.
	w.Header().Set("ETag", `"`+id+`"`)
	// No modification time: the ETag says everything.
	http.ServeContent(w, r, "", time.Time{}, f)
}
