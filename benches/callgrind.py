"""Instructions per request of `tessera serve` under callgrind, for when the machine is too busy
for `cargo bench --bench load` to say anything: start BINARY under valgrind, make N calls of one
kind with boto3 over one keep-alive connection, stop it with SIGTERM, print the total Ir.

    .venv/bin/python benches/callgrind.py target/release/tessera 100 gci /tmp/a.out
    .venv/bin/python benches/callgrind.py target/release/tessera 2100 gci /tmp/b.out
    # (b - a) / 2000 = instructions per GetCallerIdentity; `assume` for AssumeRole.

CG_EXTRA_ENV='{"TESSERA_LOG": "info"}' adds to the server's environment."""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, http.client
import boto3
from botocore.config import Config

binary, n, kind, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ROOT = ("AKIACALLGRINDTESTKEY", "callgrindSecret0123456789abcdefghijklmn")
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
d = tempfile.mkdtemp(prefix="cg-")
env = {k: v for k, v in os.environ.items() if not k.startswith(("TESSERA_", "AWS_"))}
env.update(TESSERA_ROOT_ACCESS_KEY_ID=ROOT[0], TESSERA_ROOT_SECRET_ACCESS_KEY=ROOT[1], TESSERA_LOG="warn")
env.update(json.loads(os.environ.get("CG_EXTRA_ENV", "{}")))
p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve",
                      "--listen", f"127.0.0.1:{port}", "--data-dir", d + "/data"],
                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 300
while time.time() < deadline:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", "/healthz")
        if c.getresponse().status == 200: break
    except OSError: time.sleep(0.5)
ep = f"http://127.0.0.1:{port}"
cfg = Config(retries={"max_attempts": 1}, read_timeout=120)
def client(svc, k, sec, tok=None):
    return boto3.client(svc, endpoint_url=ep, region_name="us-east-1", aws_access_key_id=k,
                        aws_secret_access_key=sec, aws_session_token=tok, config=cfg)
sts = client("sts", *ROOT)
if kind == "gci":
    for _ in range(n): sts.get_caller_identity()
elif kind == "assume":
    iam = client("iam", *ROOT)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
             "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}, "Bool": {"aws:SecureTransport": "false"}}}]}
    arn = iam.create_role(RoleName="cg", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.create_user(UserName="u")
    iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arn}]}))
    k = iam.create_access_key(UserName="u")["AccessKey"]
    u = client("sts", k["AccessKeyId"], k["SecretAccessKey"])
    time.sleep(2)
    for _ in range(n): u.assume_role(RoleArn=arn, RoleSessionName="cg")
p.send_signal(signal.SIGTERM); p.wait(timeout=300)
shutil.rmtree(d, ignore_errors=True)
total = 0
for line in open(out):
    m = re.match(r"(summary|totals): (\d+)", line)
    if m: total = int(m.group(2))
print(total)
