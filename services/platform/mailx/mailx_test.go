package mailx

import "testing"

func TestSMTPURL(t *testing.T) {
	for raw, want := range map[string]smtpTarget{
		"smtp://127.0.0.1:2525":           {host: "127.0.0.1", port: 2525},
		"smtps://u:p@mail.example.it":     {host: "mail.example.it", port: 465, user: "u", password: "p", ssl: true},
		"smtp+starttls://mail.example.it": {host: "mail.example.it", port: 587, mandatory: true},
	} {
		got, err := parseSMTPURL(raw)
		if err != nil || got != want {
			t.Errorf("parseSMTPURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"http://x", "smtp://", "smtp://h:99999"} {
		if _, err := parseSMTPURL(bad); err == nil {
			t.Errorf("parseSMTPURL(%q) accepted", bad)
		}
	}
}
