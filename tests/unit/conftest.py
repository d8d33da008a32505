"""The unit tier: pure logic from literal data. No engine, registry, Redis or database."""
