"""UI string catalogs, language fallbacks, machine translation, glossary and easy Japanese."""
