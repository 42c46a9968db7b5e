"""Find anything: metadata templates, the search index and permission-checked full-text search.

Adding a source of text (for the skills: extracted text, OCR, transcripts) is one call, in the same
transaction as the result it comes from:

    from strongroom.search.indexing import index_text
    index_text(session, item_id, "ocr", text)        # replaces that item's earlier "ocr" text
    index_text(session, item_id, "transcript", None)  # removes it

`source` is a short key of your choosing (64 characters); one text per item and source. Text for a
particular version can use a source such as "ocr" and be replaced when a new version is read. The item's
search document (name, metadata values, every source) is rebuilt and the full-text index follows it.
"""
