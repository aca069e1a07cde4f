# The credit platform on the official Airflow 3 image: every Airflow component (api-server, scheduler,
# dag-processor, triggerer, Celery workers) runs this one image, so tasks find the `pipelines` package.
#
#   docker build -t credit-platform-airflow .
#
# The project is installed editable from /opt/credit because the pipeline reads warehouse/ (SQL models)
# and expectations/ (GX suites) next to the package.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
# The slim image (Airflow core, no bundled providers): the project's `airflow` extra adds exactly the
# providers it pins (standard, celery, postgres) plus celery 5.6.3, so nothing in the image fights the pins.
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION

USER root
RUN mkdir -p /opt/credit /data/credit-home \
    && chown -R airflow:0 /opt/credit /data/credit-home \
    && chmod -R g+rwX /data/credit-home
USER airflow

WORKDIR /opt/credit
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 pipelines ./pipelines
COPY --chown=airflow:0 warehouse ./warehouse
COPY --chown=airflow:0 expectations ./expectations
# Pin Airflow to the image's version so pip never swaps the core out from under the image.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -e "/opt/credit[airflow]"

COPY --chown=airflow:0 dags /opt/airflow/dags
WORKDIR /opt/airflow
ENV CREDIT_HOME=/data/credit-home
