package motostate

import (
	"net/http"
	"testing"
)

func TestStart(t *testing.T) {
	url := Start(t)
	resp, err := http.Get(url + "/moto-api/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto answered %s", resp.Status)
	}
}
