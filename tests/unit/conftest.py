"""The unit tier: pure logic from literal data, no engine, Redis, worker or browser (seconds)."""
