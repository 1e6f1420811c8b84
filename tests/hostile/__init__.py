"""The hostile test corpus: every case of issue 8 against the real server."""
