package core

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// FuzzAuthorization feeds arbitrary Authorization headers through the whole
// token path. Whatever arrives, the answer is a 201 only for the one valid
// token, any other answer is a well-formed refusal, and nothing panics.
func FuzzAuthorization(f *testing.F) {
	keys := newTestKeys(f)
	good := keys.sign(f, "RS256", testClaims(time.Now(), "jane"))
	parts := strings.Split(good, ".")
	seeds := []string{
		"", "Bearer", "Bearer ", "bearer " + good, "Basic amFuZTpzZWNyZXQ=",
		"Bearer " + good, "Bearer " + parts[0] + "." + parts[1] + ".",
		"Bearer " + parts[0] + "..", "Bearer ...", "Bearer a.b.c.d",
		"Bearer eyJhbGciOiJub25lIn0.e30.", "Bearer " + b64url(`{"alg":"RS256","kid":"rsa","crit":[]}`) + "." + parts[1] + "." + parts[2],
		"Bearer " + b64url(`{"alg":"HS256"}`) + ".e30.AAAA", "Bearer " + strings.Repeat("A", 17000),
		"Bearer " + parts[0] + "." + b64url(`{"exp":1e309}`) + "." + parts[2],
	}
	for _, s := range seeds {
		f.Add(s)
	}
	iss := newTestIssuer(f, testConfig(), keys, &stubSTS{}, nil)
	f.Fuzz(func(t *testing.T, auth string) {
		req := httptest.NewRequest(http.MethodPut, "/apis/sts/token", nil)
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		iss.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			if auth != "Bearer "+good && !strings.EqualFold(strings.TrimSpace(auth), "bearer "+good) {
				t.Fatalf("issued credentials for %q", auth)
			}
		case http.StatusUnauthorized:
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="sts"`) {
				t.Fatalf("401 without a challenge for %q", auth)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, auth)
		}
		if rec.Code != http.StatusCreated && strings.Contains(rec.Body.String(), strings.TrimPrefix(auth, "Bearer ")) && len(auth) > 12 {
			t.Fatalf("the refusal echoes the token")
		}
	})
}
