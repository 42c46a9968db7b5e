"""The folder tree: folders, files, versions, trash and locks, and the upload hot path.

Owns names (unique per folder, case-insensitively), versions and their sealed blobs.
Entry points: folders.create_folder, uploads.store_upload, files.rename_item, trash.trash_item.
"""
