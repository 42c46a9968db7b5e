"""Every domain's tables in one MetaData, for Alembic and the tests. Import order does not matter."""

from strongroom.audit import models as audit_models
from strongroom.content import dav_locks, properties  # noqa: F401 - WebDAV locks and dead properties
from strongroom.content import models as content_models
from strongroom.db.base import Base
from strongroom.idempotency import models as idempotency_models  # noqa: F401 - Idempotency-Key records
from strongroom.identity import models as identity_models
from strongroom.jobs import models as jobs_models
from strongroom.search import models as search_models  # noqa: F401 - templates, metadata, search index
from strongroom.sharing import models as sharing_models  # noqa: F401 - grants, links, upload requests
from strongroom.skills import models as skills_models  # noqa: F401 - processing log and cards
from strongroom.storage import models as storage_models  # noqa: F401 - the key-use log

metadata = Base.metadata
__all__ = ["audit_models", "content_models", "identity_models", "jobs_models", "metadata"]
