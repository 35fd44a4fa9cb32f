package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkHandler is the whole token path with an in-process STS: bearer
// parsing, signature, claims, role, session name, response.
func BenchmarkHandler(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			keys := newTestKeys(b)
			iss := newTestIssuer(b, testConfig(), keys, &stubSTS{}, nil)
			tok := "Bearer " + keys.sign(b, alg, testClaims(time.Now(), "jane"))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPut, "/apis/sts/token", nil)
					req.Header.Set("Authorization", tok)
					rec := httptest.NewRecorder()
					iss.ServeHTTP(rec, req)
					if rec.Code != http.StatusCreated {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}

// BenchmarkVerify is JWT verification alone, per algorithm: the full
// signature check, and a repeat presentation answered by the
// verified-token cache.
func BenchmarkVerify(b *testing.B) {
	keys := newTestKeys(b)
	for _, alg := range []string{"RS256", "PS256", "ES256"} {
		tok := keys.sign(b, alg, testClaims(time.Now(), "jane"))
		for _, cached := range []bool{false, true} {
			name := alg + "/signature"
			if cached {
				name = alg + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				v := newTokenVerifier(testConfig().JWT, keys, nil)
				if !cached {
					v.verified = nil
				}
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					if _, err := v.Verify(context.Background(), tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
