"""kb/ indexed into chromadb; retrieval of coping and cold-start cards."""
