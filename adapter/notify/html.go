package notify

import (
	"bytes"
	"html/template"

	"github.com/socialrx/socialrx"
)

var emailTmpl = template.Must(template.New("email").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family:sans-serif;font-size:18px;line-height:1.5;max-width:36em">
<p>Hello,</p>
<p>{{.Who}} would like to know how things went with the support suggested at your last visit. It takes about two minutes.</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:#0b5394;color:#fff;text-decoration:none;border-radius:6px">Answer the questions</a></p>
<p>Or copy this address into your browser: {{.Link}}</p>
<p>The link works until {{.Until}} and can be used once. If you would rather talk to someone, call the clinic.</p>
<p>Please do not reply to this email.</p>
</body></html>
`))

// emailHTML is the HTML alternative of the email: the same words, one link.
func emailHTML(r socialrx.Reminder) (string, error) {
	who := "Your clinic"
	if r.Clinic != "" {
		who = oneLine(r.Clinic)
	}
	var b bytes.Buffer
	err := emailTmpl.Execute(&b, map[string]any{"Subject": subject(r), "Who": who, "Link": r.Link, "Until": expiryDay(r)})
	return b.String(), err
}
