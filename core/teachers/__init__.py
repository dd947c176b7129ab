"""Teacher models that write the training conversations: embedded llama.cpp or an endpoint.

Importing this package is cheap: llama_cpp and httpx2 are imported on first use.
"""

from core.teachers.base import ChatRequest, Teacher, TeacherError, TeacherStopped
from core.teachers.embedded import EmbeddedTeacher, embedded_teacher
from core.teachers.endpoint import EndpointTeacher, endpoint_teacher, test_connection

__all__ = [
    "ChatRequest",
    "EmbeddedTeacher",
    "EndpointTeacher",
    "Teacher",
    "TeacherError",
    "TeacherStopped",
    "embedded_teacher",
    "endpoint_teacher",
    "test_connection",
]
