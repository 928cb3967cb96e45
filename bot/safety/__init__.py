"""Crisis screen, helplines, flags for counsellors."""
