"""Unit tier: pure logic from literal data. No engine, registry, Redis, worker or database here."""
