"""Storage: tables, migrations runner, the pool, and the SQL each repository runs."""
