package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/leadhub/leadhub/inbox"
)

const (
	// maxReplyBody bounds a reply sent as multipart/form-data: its text and
	// every attached file together.
	maxReplyBody = 30 << 20
	// maxReplyFiles bounds how many files one reply carries.
	maxReplyFiles = 10
	// maxReplyField bounds one text field of the form.
	maxReplyField = 64 << 10
)

// isMultipart says whether the request body is multipart/form-data.
func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// readReplyForm reads a reply sent as multipart/form-data: the fields
// "text" and "override_dnc", and up to maxReplyFiles parts named "files",
// each saved to uploads as it streams in (never held in memory whole).
func readReplyForm(w http.ResponseWriter, r *http.Request, uploads inbox.Files) (replyBody, []inbox.Attachment, error) {
	var (
		body  replyBody
		files []inbox.Attachment
	)
	r.Body = http.MaxBytesReader(w, r.Body, maxReplyBody)
	mr, err := r.MultipartReader()
	if err != nil {
		return body, nil, inbox.Errorf(inbox.EINVALID, "malformed multipart body")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return body, files, nil
		}
		if err != nil {
			return body, nil, formError(err)
		}
		switch name := part.FormName(); {
		case name == "files" && part.FileName() != "":
			if uploads == nil {
				return body, nil, inbox.Errorf(inbox.EINVALID, "this hub stores no files")
			}
			if len(files) == maxReplyFiles {
				return body, nil, inbox.Errorf(inbox.EINVALID, "at most %d files per reply", maxReplyFiles)
			}
			a, err := uploads.Save(r.Context(), part.FileName(), part.Header.Get("Content-Type"), inbox.MaxFileSize, part)
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					return body, nil, formError(err)
				}
				return body, nil, err // ETOOLARGE for one file, or storage trouble
			}
			files = append(files, a)
		case name == "text" || name == "override_dnc":
			b, err := io.ReadAll(io.LimitReader(part, maxReplyField+1))
			if err != nil {
				return body, nil, formError(err)
			}
			if len(b) > maxReplyField {
				return body, nil, inbox.Errorf(inbox.ETOOLARGE, "field %s is too long", name)
			}
			if name == "text" {
				body.Text = string(b)
			} else if body.OverrideDNC, err = strconv.ParseBool(strings.TrimSpace(string(b))); err != nil {
				return body, nil, inbox.Errorf(inbox.EINVALID, "override_dnc must be true or false")
			}
		default:
			return body, nil, inbox.Errorf(inbox.EINVALID, "unknown field %q", name)
		}
	}
}

// formError turns a failure while reading the form into a short reason.
func formError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return inbox.Errorf(inbox.ETOOLARGE, "a reply with its files is limited to %d MiB", maxReplyBody>>20)
	}
	return inbox.Errorf(inbox.EINVALID, "malformed multipart body")
}
