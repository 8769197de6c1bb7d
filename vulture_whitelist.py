"""Names vulture reports as unused that a framework or library uses: vulture's whitelist.

tests/test_dead_code.py runs vulture over notices/, tracker/ and benchmarks/ with this file and fails on
anything it reports, so new dead code fails `make test`; run it by hand with
`vulture notices tracker benchmarks vulture_whitelist.py --min-confidence 60 --exclude notices/migrations`.
Vulture matches by name: a name here is used wherever it is defined, so only names that the framework uses
belong here — dead code is deleted, never listed. Nothing imports or runs this file.
"""


class _Used:
    """Any attribute read on it is a use of that name for vulture."""

    def __getattr__(self, _name: str) -> None:
        return None


_ = _Used()

# Django admin (notices/admin/): the ModelAdmin classes @admin.register installs, the site's titles, the
# options the admin reads, the form hook clean_<field>, and the display columns and actions that list_display,
# readonly_fields and actions name by string.
_django_admin = (
    _.AnalystAlertAdmin,
    _.AnalystReplyAdmin,
    _.ApiKeyAdmin,
    _.AssessmentAdmin,
    _.AuditEventAdmin,
    _.CheckAdmin,
    _.EscalationAdmin,
    _.EscalationPolicyAdmin,
    _.EventAdmin,
    _.HostingOverrideAdmin,
    _.HostingProviderAdmin,
    _.HostingTraceAdmin,
    _.InboundMessageAdmin,
    _.InvitationAdmin,
    _.NoticeAdmin,
    _.NoticeTemplateAdmin,
    _.OutgoingMessageAdmin,
    _.PartnerAdmin,
    _.ProviderContactAdmin,
    _.ProviderMembershipAdmin,
    _.ProviderQuestionAdmin,
    _.ProviderResponseAdmin,
    _.ReferralAdmin,
    _.RegistryImportAdmin,
    _.ReportAdmin,
    _.RoutingPrefixAdmin,
    _.StepRunAdmin,
    _.UrlAdmin,
    _.WebhookDeliveryAdmin,
    _.WebhookEndpointAdmin,
    _.site_header,
    _.site_title,
    _.index_title,
    _.actions,
    _.autocomplete_fields,
    _.can_delete,
    _.change_form_template,
    _.date_hierarchy,
    _.inlines,
    _.list_display,
    _.list_filter,
    _.list_per_page,
    _.list_select_related,
    _.prepopulated_fields,
    _.raw_id_fields,
    _.readonly_fields,
    _.search_fields,
    _.show_change_link,
    _.show_full_result_count,
    _.widgets,
    _.get_readonly_fields,
    _.has_add_permission,
    _.has_delete_permission,
    _.clean_abuse_emails,
    _.answered,
    _.question,
    _.removal_summary,
    _.status_badge,
    _.text_excerpt,
    _.text_pre,
    _.trace_chain,
    _.ttr_display,
    _.url_defanged,
    _.url_link,
    _.lookups,
    _.acknowledge,
    _.create_hotline_notices,
    _.export_csv,
    _.hand_off_to_partner,
    _.refer_to_police,
    _.revoke,
    _.send_notices,
    _.trace_now,
)

# Django models (notices/models/): Meta options, and columns the ORM reads and writes by keyword and by
# string (filters, update(), serializers' and admin field lists, templates, raw SQL).
_django_models = (
    _.indexes,
    _.constraints,
    _.ordering,
    _.verbose_name_plural,
    _.accepted_at,
    _.accepted_user,
    _.acknowledged_by,
    _.canonical_hash,
    _.claimed_until,
    _.closed_at,
    _.delivered_at,
    _.duration_ms,
    _.expires_at,
    _.exported_at,
    _.failed_at,
    _.failing,
    _.failure_reason,
    _.handed_off_to,
    _.handoff_email,
    _.imported_at,
    _.is_abuse,
    _.last_error,
    _.last_status_code,
    _.next_attempt_at,
    _.provider_at_notice,
    _.provider_id_copy,
    _.reappearance_count,
    _.refreshes,
    _.removed_at,
    _.reported_removed_at,
    _.resolved_at,
    _.resolved_by,
    _.revoked_at,
    _.submitted_by,
    _.token_hash,
    _.traced_at,
    _.updated_at,
    _.updated_by,
)

# Django model field, form field and lookup hooks (notices/models/fields.py); @register_lookup installs the
# lookup class.
_django_fields = (
    _.ContainsOrEquals,
    _.as_sql,
    _.default_error_messages,
    _.default_validators,
    _.description,
    _.from_db_value,
    _.get_prep_lookup,
    _.lookup_name,
    _.prepare_value,
)

# Enum members (notices/enums.py, HostingOverride.Scope): choices the database, the API schema and X-ARF
# accept; code picks them by value.
_choices = (
    _.BASELINE,
    _.A2,
    _.B1,
    _.B2,
    _.USER_REPORT,
    _.HASH_MATCH,
    _.AI_DETECTION,
    _.AUTOMATED_SCAN,
    _.IMAGE,
    _.VIDEO,
    _.AUDIO,
    _.TEXT,
    _.MIXED,
    _.HOST,
    _.PREFIX,
    _.ASN,
)

# Django forms and class-based views (notices/portal/): declared form fields, widget options, view options.
_django_forms_and_views = (
    _.application_date,
    _.automated_decision,
    _.automated_detection,
    _.category,
    _.category_specification,
    _.content_date,
    _.decision_account,
    _.decision_facts,
    _.decision_ground,
    _.decision_provision,
    _.decision_visibility,
    _.decision_visibility_other,
    _.illegal_content_explanation,
    _.illegal_content_legal_ground,
    _.include_statement,
    _.incompatible_content_explanation,
    _.incompatible_content_ground,
    _.password1,
    _.password2,
    _.source_type,
    _.territorial_scope,
    _.input_type,
    _.widget,
    _.email_template_name,
    _.extra_email_context,
    _.subject_template_name,
    _.success_url,
    _.template_name,
)

# Django wiring: URLconfs and their error handlers (handler404 names notices.health.not_found), WSGI/ASGI
# entry points, the app config, management commands, system checks (@checks.register calls them with
# app_configs=), template tags and filters (used in notices/templates/), and the thread entries' fields the
# admin and portal templates read.
_django_wiring = (
    _.urlpatterns,
    _.app_name,
    _.handler404,
    _.handler500,
    _.not_found,
    _.application,
    _.NoticesConfig,
    _.default_auto_field,
    _.Command,
    _.help,
    _.add_arguments,
    _.check_mail_signing,
    _.check_analyst_alert_emails,
    _.check_escalation_steps_retired,
    _.app_configs,
    _.error_summary,
    _.link_own_urls,
    _.open_alerts,
    _.from_provider,
)

# Settings (tracker/settings.py) that Django, DRF, drf-spectacular, WhiteNoise, django-csp and Celery
# (namespace CELERY_) read, and CHECK_INTERVAL_* that notices/checks/scheduling.py reads by name.
_django_settings = (
    _.ALLOWED_HOSTS,
    _.AUTH_PASSWORD_VALIDATORS,
    _.CACHES,
    _.CONTENT_SECURITY_POLICY,
    _.CSRF_COOKIE_SAMESITE,
    _.CSRF_COOKIE_SECURE,
    _.CSRF_TRUSTED_ORIGINS,
    _.DATA_UPLOAD_MAX_MEMORY_SIZE,
    _.DEBUG,
    _.DEFAULT_AUTO_FIELD,
    _.EMAIL_BACKEND,
    _.EMAIL_HOST,
    _.EMAIL_HOST_PASSWORD,
    _.EMAIL_HOST_USER,
    _.EMAIL_PORT,
    _.EMAIL_TIMEOUT,
    _.EMAIL_USE_SSL,
    _.EMAIL_USE_TLS,
    _.INSTALLED_APPS,
    _.LOGGING,
    _.LOGIN_REDIRECT_URL,
    _.LOGIN_URL,
    _.MIDDLEWARE,
    _.PASSWORD_RESET_TIMEOUT,
    _.REST_FRAMEWORK,
    _.ROOT_URLCONF,
    _.SECRET_KEY,
    _.SECURE_CONTENT_TYPE_NOSNIFF,
    _.SECURE_CROSS_ORIGIN_OPENER_POLICY,
    _.SECURE_HSTS_INCLUDE_SUBDOMAINS,
    _.SECURE_HSTS_SECONDS,
    _.SECURE_PROXY_SSL_HEADER,
    _.SECURE_REDIRECT_EXEMPT,
    _.SECURE_REFERRER_POLICY,
    _.SECURE_SSL_REDIRECT,
    _.SESSION_COOKIE_HTTPONLY,
    _.SESSION_COOKIE_SAMESITE,
    _.SESSION_COOKIE_SECURE,
    _.SPECTACULAR_SETTINGS,
    _.STATIC_URL,
    _.STORAGES,
    _.TEMPLATES,
    _.TIME_ZONE,
    _.USE_I18N,
    _.USE_TZ,
    _.USE_X_FORWARDED_HOST,
    _.WHITENOISE_USE_FINDERS,
    _.WSGI_APPLICATION,
    _.X_FRAME_OPTIONS,
    _.CELERY_ACCEPT_CONTENT,
    _.CELERY_BEAT_SCHEDULE_FILENAME,
    _.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP,
    _.CELERY_BROKER_URL,
    _.CELERY_RESULT_BACKEND,
    _.CELERY_TASK_ACKS_LATE,
    _.CELERY_TASK_REJECT_ON_WORKER_LOST,
    _.CELERY_TASK_SERIALIZER,
    _.CELERY_TIMEZONE,
    _.CELERY_WORKER_PREFETCH_MULTIPLIER,
    _.CHECK_INTERVAL_FIRST_DAY,
    _.CHECK_INTERVAL_FIRST_WEEK,
    _.CHECK_INTERVAL_LATER,
)

# Django REST framework and drf-spectacular (notices/api/, notices/selectors/representations.py): classes the
# REST_FRAMEWORK setting names by path, the schema extension, view and pagination options, exception
# defaults, declared serializer fields, and the get_<field> / validate / validate_<field> hooks.
_rest_framework = (
    _.BearerKeyScheme,
    _.IdCursorPagination,
    _.KeyRateThrottle,
    _.authenticate_header,
    _.get_cache_key,
    _.get_security_definition,
    _.has_permission,
    _.keyword,
    _.target_class,
    _.auto_schema,
    _.lookup_field,
    _.parser_classes,
    _.permission_classes,
    _.max_page_size,
    _.page_size_query_param,
    _.default_code,
    _.default_detail,
    _.accepted,
    _.algorithm,
    _.hops,
    _.rejected,
    _.removal,
    _.statements,
    _.ttr,
    _.get_assessment,
    _.get_checks,
    _.get_country,
    _.get_defanged,
    _.get_hops,
    _.get_notices,
    _.get_reminders,
    _.get_removal,
    _.made_available_at,
    _.get_ttr,
    _.validate,
    _.validate_reported_at,
    _.validate_statement_of_reasons,
    _.validate_url,
)

# Celery (notices/tasks.py, tracker/celery.py): tasks the beat schedule and notices.infra.enqueue name, and
# the app's signal receivers.
_celery = (
    _.check_urls_now,
    _.deliver_message_task,
    _.dispatch_notices,
    _.refresh_stats,
    _.send_alert_digest_task,
    _.send_analyst_alert_task,
    _.sweep_escalations,
    _.sweep_outbox,
    _.sweep_webhooks,
    _.trace_url_task,
    _._install_schedule,
    _._freeze_start_up_objects,
)

# Other libraries' hooks and attributes: HTMLParser callbacks, dnslib's reply code, dnspython's resolver
# options, psycopg2's autocommit, aiosmtpd's handler hooks and Controller._create_server, Django's model
# instance state set by notices/infra/bulk.py, the pools benchmarks/harness.py resets on Celery's app.
_library_hooks = (
    _.handle_data,
    _.handle_endtag,
    _.handle_starttag,
    _.rcode,
    _.lifetime,
    _.nameservers,
    _.autocommit,
    _.handle_DATA,
    _.handle_RCPT,
    _.rcpt_options,
    _._create_server,
    _.adding,
    _._state,
    _._pool,
    _._producer_pool,
)

# Parameters a caller's protocol fixes: signal handlers (frame), __exit__ / __aexit__ (exc_type, tb,
# exc_info).
_signatures = (
    _.frame,
    _.exc_type,
    _.tb,
    _.exc_info,
)

# Used outside the scanned code: the SMTP sink's wait_for by the tests that read the mail it stored; the
# `better` field of a bench result by dataclasses.asdict (bench-results.json).
_other_users = (
    _.wait_for,
    _.better,
)
