//! Service-linked roles: roles that belong to an AWS service, which alone may change them. See
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html> and the
//! API reference of `CreateServiceLinkedRole`, `DeleteServiceLinkedRole` and
//! `GetServiceLinkedRoleDeletionStatus`.
//!
//! A service-linked role lives at `/aws-service-role/<service>/`, is named
//! `AWSServiceRoleFor<Service>` (with `_<CustomSuffix>` for the services that take one), and
//! trusts only its service principal. Everything but its description is refused with
//! `UnmodifiableEntity` (the check is [`super::roles::check_modifiable`]). Deleting one is a task
//! in AWS, polled with `GetServiceLinkedRoleDeletionStatus`; tessera runs no service that could
//! still use the role, so the task has succeeded by the time its id is answered.
//!
//! The role name of each service is AWS's, from the table below; for a service not in it, the
//! name is made from its principal the way AWS's names mostly are (`my-svc.amazonaws.com` ->
//! `AWSServiceRoleForMySvc`). AWS attaches its own managed policy to each such role; tessera
//! attaches none (no service acts with the role here).

use std::sync::Arc;

use crate::credentials::{self, UniqueIdKind};
use crate::error::{ApiError, ApiResult};
use crate::policy::{Policy, PolicyKind};
use crate::protocol::input::{input, string_field};
use crate::protocol::output::Output;
use crate::protocol::params;
use crate::protocol::xml::Xml;
use crate::request::Cx;
use crate::store::backend::RoleDeletionTask;
use crate::store::{Change, Entity, Role, StoreError};

use super::errors::{
    custom_suffix_not_allowed, invalid_service_name, no_such_deletion_task, no_such_role,
    not_service_linked, service_role_name_taken, store_error,
};
use super::input::Name;
use super::roles::{MAX_SESSION_DEFAULT, RoleDescription, RoleOutput, find_role};

/// Services whose service-linked role AWS names other than by its principal's first label, and
/// those that take a custom suffix: (principal, name after `AWSServiceRoleFor`, suffix allowed).
const SERVICES: &[(&str, &str, bool)] = &[
    ("access-analyzer.amazonaws.com", "AccessAnalyzer", false),
    ("apigateway.amazonaws.com", "APIGateway", false),
    ("ops.apigateway.amazonaws.com", "APIGateway", false),
    ("autoscaling.amazonaws.com", "AutoScaling", true),
    ("backup.amazonaws.com", "Backup", false),
    ("batch.amazonaws.com", "Batch", false),
    ("cloudtrail.amazonaws.com", "CloudTrail", false),
    ("compute-optimizer.amazonaws.com", "ComputeOptimizer", false),
    ("config.amazonaws.com", "Config", false),
    (
        "dynamodb.application-autoscaling.amazonaws.com",
        "ApplicationAutoScaling_DynamoDBTable",
        false,
    ),
    (
        "ecs.application-autoscaling.amazonaws.com",
        "ApplicationAutoScaling_ECSService",
        false,
    ),
    ("ecs.amazonaws.com", "ECS", false),
    ("eks.amazonaws.com", "AmazonEKS", false),
    ("eks-fargate.amazonaws.com", "AmazonEKSForFargate", false),
    ("eks-nodegroup.amazonaws.com", "AmazonEKSNodegroup", false),
    ("elasticache.amazonaws.com", "ElastiCache", false),
    ("elasticbeanstalk.amazonaws.com", "ElasticBeanstalk", false),
    (
        "elasticfilesystem.amazonaws.com",
        "AmazonElasticFileSystem",
        false,
    ),
    (
        "elasticloadbalancing.amazonaws.com",
        "ElasticLoadBalancing",
        false,
    ),
    ("elasticmapreduce.amazonaws.com", "EMRCleanup", false),
    ("emr-containers.amazonaws.com", "AmazonEMRContainers", false),
    ("es.amazonaws.com", "AmazonElasticsearchService", false),
    ("fsx.amazonaws.com", "AmazonFSx", false),
    (
        "globalaccelerator.amazonaws.com",
        "GlobalAccelerator",
        false,
    ),
    ("guardduty.amazonaws.com", "AmazonGuardDuty", false),
    ("inspector2.amazonaws.com", "AmazonInspector2", false),
    ("kafka.amazonaws.com", "Kafka", false),
    (
        "lakeformation.amazonaws.com",
        "LakeFormationDataAccess",
        false,
    ),
    ("macie.amazonaws.com", "AmazonMacie", false),
    (
        "opensearchservice.amazonaws.com",
        "AmazonOpenSearchService",
        false,
    ),
    ("organizations.amazonaws.com", "Organizations", false),
    ("rds.amazonaws.com", "RDS", false),
    ("redshift.amazonaws.com", "Redshift", false),
    (
        "replication.dynamodb.amazonaws.com",
        "DynamoDBReplication",
        false,
    ),
    ("securityhub.amazonaws.com", "SecurityHub", false),
    ("spot.amazonaws.com", "EC2Spot", false),
    ("spotfleet.amazonaws.com", "EC2SpotFleet", false),
    ("ssm.amazonaws.com", "AmazonSSM", false),
    ("sso.amazonaws.com", "SSO", false),
    ("support.amazonaws.com", "Support", false),
    ("transitgateway.amazonaws.com", "VPCTransitGateway", false),
    ("trustedadvisor.amazonaws.com", "TrustedAdvisor", false),
];

/// The part of every service-linked role's name before its service's.
const NAME_PREFIX: &str = "AWSServiceRoleFor";
/// The part of every service-linked role's path before its service.
const PATH_PREFIX: &str = "/aws-service-role/";

/// The name after `AWSServiceRoleFor` of `service`'s role and whether it takes a custom suffix;
/// `None` for something that is not a service principal.
fn service_role(service: &str) -> Option<(String, bool)> {
    if let Some((_, name, suffix)) = SERVICES.iter().find(|(s, _, _)| *s == service) {
        return Some(((*name).to_owned(), *suffix));
    }
    let stem = service
        .strip_suffix(".amazonaws.com")
        .or_else(|| service.strip_suffix(".amazonaws.com.cn"))
        .filter(|s| !s.is_empty())?;
    let name: String = stem
        .split(['.', '-'])
        .filter(|w| !w.is_empty())
        .flat_map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase())
                .into_iter()
                .chain(c)
        })
        .collect();
    (!name.is_empty()).then_some((name, true))
}

string_field!(
    /// `AWSServiceName`: a service principal, 1..128 of `[\w+=,.@-]+`.
    ServiceName,
    1,
    128,
    params::NAME_PATTERN,
    params::is_name_char
);
string_field!(
    /// `CustomSuffix`: 1..64 of `[\w+=,.@-]+`.
    CustomSuffix,
    1,
    64,
    params::NAME_PATTERN,
    params::is_name_char
);

input! {
    /// `CreateServiceLinkedRole`
    pub(crate) struct CreateServiceLinkedRoleInput {
        aws_service_name: ServiceName = required("AWSServiceName"),
        description: Option<RoleDescription> = optional("Description"),
        custom_suffix: Option<CustomSuffix> = optional("CustomSuffix"),
    }
}

/// The trust policy of `service`'s role: the service may assume it, nobody else.
fn service_trust(service: &str) -> ApiResult<(String, Policy)> {
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service},
            "Action": "sts:AssumeRole"}],
    })
    .to_string();
    let policy = Policy::parse(&doc, PolicyKind::Trust)
        .map_err(|e| ApiError::internal().with_detail(e.message))?;
    Ok((doc, policy))
}

pub(crate) async fn create_service_linked_role(
    cx: &Cx<'_>,
    input: CreateServiceLinkedRoleInput,
) -> ApiResult<RoleOutput> {
    let service = input.aws_service_name.into_string();
    let (base, suffix_allowed) =
        service_role(&service).ok_or_else(|| invalid_service_name(&service))?;
    let name = match &input.custom_suffix {
        Some(_) if !suffix_allowed => return Err(custom_suffix_not_allowed(&service)),
        Some(s) => format!("{NAME_PREFIX}{base}_{s}"),
        None => format!("{NAME_PREFIX}{base}"),
    };
    let path = format!("{PATH_PREFIX}{service}/");
    cx.authorize_as(
        "iam:CreateServiceLinkedRole",
        &cx.arn("role", &path, &name),
        &[],
        &[("iam:AWSServiceName", &service)],
    )?;
    // Role names are at most 64 characters: a custom suffix must leave room for the name.
    if name.chars().count() > 64 {
        return Err(ApiError::invalid_input(format!(
            "The role name {name} would be longer than 64 characters: use a shorter custom suffix."
        )));
    }
    let (doc, trust) = service_trust(&service)?;
    let role = Role {
        id: credentials::new_unique_id(UniqueIdKind::Role)?,
        account: cx.account().to_owned(),
        name,
        path,
        description: input.description.map(RoleDescription::into_string),
        trust_document: doc,
        trust: Arc::new(trust),
        max_session: MAX_SESSION_DEFAULT,
        boundary: None,
        created_at: cx.info.now,
        tags: Vec::new(),
        linked_service: Some(service),
    };
    cx.state
        .store
        .apply_one(Change::CreateRole {
            role: role.clone(),
            trust_bindings: "{}".to_owned(),
            max_per_account: super::limits::ROLES_PER_ACCOUNT,
        })
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(Entity::Role) => service_role_name_taken(&role.name),
            e => store_error(e),
        })?;
    Ok(RoleOutput::new(cx, role))
}

input! {
    /// `DeleteServiceLinkedRole`
    pub(crate) struct DeleteServiceLinkedRoleInput {
        role_name: Name = required("RoleName"),
    }
}

/// `<DeletionTaskId>`
#[derive(Debug)]
pub(crate) struct DeletionTaskOutput(String);

impl Output for DeletionTaskOutput {
    fn write(&self, x: &mut Xml) {
        x.elem("DeletionTaskId", &self.0);
    }
}

pub(crate) async fn delete_service_linked_role(
    cx: &Cx<'_>,
    input: DeleteServiceLinkedRoleInput,
) -> ApiResult<DeletionTaskOutput> {
    let role = find_role(cx, &input.role_name)?;
    cx.authorize_tagged(&role.arn(), &role.tags)?;
    let Some(service) = &role.linked_service else {
        return Err(not_service_linked(&role.name));
    };
    let task = RoleDeletionTask {
        id: format!(
            "task{PATH_PREFIX}{service}/{}/{}",
            role.name,
            credentials::new_uuid()?
        ),
        account: cx.account().to_owned(),
        status: "SUCCEEDED".to_owned(),
        created_at: cx.info.now,
    };
    cx.state
        .store
        .apply_one(Change::DeleteServiceLinkedRole {
            account: cx.account().to_owned(),
            name: role.name.clone(),
            task: task.clone(),
        })
        .await
        .map_err(|e| match e {
            StoreError::NotFound(Entity::Role) => no_such_role(&role.name),
            e => store_error(e),
        })?;
    Ok(DeletionTaskOutput(task.id))
}

string_field!(
    /// `DeletionTaskId`: 1..1000 characters.
    DeletionTaskId,
    1,
    1000,
    r".*",
    |_: char| true
);

input! {
    /// `GetServiceLinkedRoleDeletionStatus`
    pub(crate) struct DeletionStatusInput {
        deletion_task_id: DeletionTaskId = required("DeletionTaskId"),
    }
}

/// `<Status>` (and `<Reason>` for a failed deletion, which tessera never has).
#[derive(Debug)]
pub(crate) struct DeletionStatusOutput(String);

impl Output for DeletionStatusOutput {
    fn write(&self, x: &mut Xml) {
        x.elem("Status", &self.0);
    }
}

/// The ARN of the role a task id names (`task/aws-service-role/<service>/<role>/<uuid>`),
/// which the call is authorized on.
fn task_role_arn(cx: &Cx<'_>, id: &str) -> Option<String> {
    let rest = id.strip_prefix("task")?.strip_prefix(PATH_PREFIX)?;
    let mut parts = rest.rsplitn(3, '/');
    let (_uuid, role, service) = (parts.next()?, parts.next()?, parts.next()?);
    (!role.is_empty() && !service.is_empty())
        .then(|| cx.arn("role", &format!("{PATH_PREFIX}{service}/"), role))
}

pub(crate) async fn get_service_linked_role_deletion_status(
    cx: &Cx<'_>,
    input: DeletionStatusInput,
) -> ApiResult<DeletionStatusOutput> {
    let id = input.deletion_task_id.as_str();
    let resource = task_role_arn(cx, id).unwrap_or_else(|| "*".to_owned());
    cx.authorize(&resource)?;
    let view = cx.state.store.view();
    view.role_deletion_tasks
        .get(id)
        .filter(|t| t.account == cx.account())
        .map(|t| DeletionStatusOutput(t.status.clone()))
        .ok_or_else(|| no_such_deletion_task(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_of_services() {
        let cases: &[(&str, Option<(&str, bool)>)] = &[
            ("autoscaling.amazonaws.com", Some(("AutoScaling", true))),
            ("ecs.amazonaws.com", Some(("ECS", false))),
            (
                "es.amazonaws.com",
                Some(("AmazonElasticsearchService", false)),
            ),
            ("spot.amazonaws.com", Some(("EC2Spot", false))),
            // Not in the table: from the principal.
            ("my-svc.amazonaws.com", Some(("MySvc", true))),
            ("a.b-c.amazonaws.com", Some(("ABC", true))),
            ("x.amazonaws.com.cn", Some(("X", true))),
            ("amazonaws.com", None),
            (".amazonaws.com", None),
            ("example.com", None),
            ("-.amazonaws.com", None),
        ];
        for (service, want) in cases {
            let got = service_role(service);
            assert_eq!(
                got.as_ref().map(|(n, s)| (n.as_str(), *s)),
                *want,
                "{service}"
            );
        }
        // Every table entry is a service principal and a valid role-name part.
        for (service, name, _) in SERVICES {
            assert!(service.ends_with(".amazonaws.com"), "{service}");
            assert!(
                format!("{NAME_PREFIX}{name}")
                    .chars()
                    .all(params::is_name_char),
                "{name}"
            );
        }
    }
}
