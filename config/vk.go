package config

import (
	"fmt"
	"net/url"
)

// vkProblems checks a vk channel's keys: the community's id, the Callback
// API server's secret and confirmation code, and a community token. The
// connector checks them again when it is built; here they are reported
// with every other problem of the file at once.
func vkProblems(where string, ch Channel) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(where+": "+format, args...)) }
	if ch.GroupID <= 0 {
		add("a vk channel needs group_id, the community's id (a positive number, from the community's address or its settings)")
	}
	if ch.Secret == "" {
		add("a vk channel needs secret, the Callback API server's secret key")
	}
	if ch.Confirmation == "" {
		add("a vk channel needs confirmation, the string the Callback API page says the server must return")
	}
	if ch.Token == "" {
		add("a vk channel needs token, a community access token with the messages right")
	}
	if ch.APIURL != "" {
		if u, err := url.Parse(ch.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("api_url %q is not an http(s) URL", ch.APIURL)
		}
	}
	if ch.Mode != "" {
		add("mode is a telegram key; a vk channel always receives through the Callback API")
	}
	return errs
}
