// TLS and mutual TLS between surged and its clients, with certificates made inside the test by
// the openssl CLI; plus the refusal of plaintext on non-loopback addresses.
#include "support/client.h"
#include "support/process.h"
#include "support/temp_dir.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace surge {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::runCommand;

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// A CA and certificates it signs, made with the openssl CLI (P-256 keys: fast to generate).
class TestPki {
public:
  explicit TestPki(fs::path dir) : dir_(std::move(dir)) {}

  void makeCa(const std::string& name) {
    run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", path(name + ".key"), "-out", path(name + ".pem"), "-days", "2", "-subj", "/CN=" + name});
  }

  // A certificate for `name` signed by `ca`, for a server (SAN 127.0.0.1 and localhost) or a client.
  void makeCert(const std::string& name, const std::string& ca, bool server) {
    run({"/usr/bin/openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         path(name + ".key"), "-out", path(name + ".csr"), "-subj", "/CN=" + name});
    std::ofstream(path(name + ".ext"))
        << (server ? "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
                   : "extendedKeyUsage=clientAuth\n");
    run({"/usr/bin/openssl", "x509", "-req", "-in", path(name + ".csr"), "-CA", path(ca + ".pem"), "-CAkey",
         path(ca + ".key"), "-CAcreateserial", "-out", path(name + ".pem"), "-days", "2", "-extfile",
         path(name + ".ext")});
  }

  std::string path(const std::string& file) const { return (dir_ / file).string(); }
  std::string pem(const std::string& file) const { return readFile(dir_ / file); }

private:
  static void run(const std::vector<std::string>& argv) {
    const auto result = runCommand(argv);
    ASSERT_EQ(result.exitCode, 0) << result.err;
  }
  fs::path dir_;
};

class TlsTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    pki_ = new TestPki(dir_->path());
    pki_->makeCa("ca");
    pki_->makeCa("other-ca");
    pki_->makeCert("server", "ca", true);
    pki_->makeCert("client", "ca", false);
    pki_->makeCert("stranger", "other-ca", false);
  }
  static void TearDownTestSuite() {
    delete pki_;
    delete dir_;
  }

  // ListFunctions over a channel with these credentials; the status tells whether the
  // handshake and the call went through.
  static grpc::Status listFunctions(const std::string& address, std::shared_ptr<grpc::ChannelCredentials> credentials,
                                    const std::string& key) {
    auto channel = grpc::CreateChannel(address, credentials);
    auto stub = v1::FunctionService::NewStub(channel);
    v1::ListFunctionsResponse response;
    auto context = testing::contextWithDeadline(std::chrono::seconds(10), key);
    return stub->ListFunctions(context.get(), v1::ListFunctionsRequest(), &response);
  }

  static std::shared_ptr<grpc::ChannelCredentials> tls(const std::string& ca, const std::string& client = "") {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_->pem(ca + ".pem");
    if (!client.empty()) {
      options.pem_private_key = pki_->pem(client + ".key");
      options.pem_cert_chain = pki_->pem(client + ".pem");
    }
    return grpc::SslCredentials(options);
  }

  static inline testing::TempDir* dir_ = nullptr;
  static inline TestPki* pki_ = nullptr;
};

TEST_F(TlsTest, TlsClientsConnectAndPlaintextOrUntrustedClientsFailCleanly) {
  testing::TempDir data;
  testing::SurgedProcess surged(data.path() / "data",
                                {"--tls-cert", pki_->path("server.pem"), "--tls-key", pki_->path("server.key")});
  EXPECT_THAT(surged.log(), HasSubstr("serving TLS on"));
  const grpc::Status ok = listFunctions(surged.address(), tls("ca"), surged.adminKey());
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  const grpc::Status plaintext = listFunctions(surged.address(), grpc::InsecureChannelCredentials(), surged.adminKey());
  EXPECT_EQ(plaintext.error_code(), grpc::StatusCode::UNAVAILABLE);

  const grpc::Status untrusted = listFunctions(surged.address(), tls("other-ca"), surged.adminKey());
  EXPECT_EQ(untrusted.error_code(), grpc::StatusCode::UNAVAILABLE);

  // TLS does not replace the key.
  const grpc::Status noKey = listFunctions(surged.address(), tls("ca"), "surge_unknown_key");
  EXPECT_EQ(noKey.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  testing::TempDir data;
  testing::SurgedProcess surged(data.path() / "data",
                                {"--tls-cert", pki_->path("server.pem"), "--tls-key", pki_->path("server.key"),
                                 "--tls-client-ca", pki_->path("ca.pem")});
  EXPECT_THAT(surged.log(), HasSubstr("serving mutual TLS on"));
  const grpc::Status withCert = listFunctions(surged.address(), tls("ca", "client"), surged.adminKey());
  EXPECT_TRUE(withCert.ok()) << withCert.error_message();
  EXPECT_EQ(listFunctions(surged.address(), tls("ca"), surged.adminKey()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(listFunctions(surged.address(), tls("ca", "stranger"), surged.adminKey()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, SurgectlSpeaksTlsAndMutualTls) {
  testing::TempDir data;
  testing::SurgedProcess surged(data.path() / "data",
                                {"--tls-cert", pki_->path("server.pem"), "--tls-key", pki_->path("server.key"),
                                 "--tls-client-ca", pki_->path("ca.pem")});
  const std::map<std::string, std::string> env = {
      {"SURGE_SERVER", surged.address()}, {"SURGE_DATA_DIR", surged.dataDir().string()}, {"SURGE_API_KEY", ""}};
  auto listed = runCommand({testing::surgectlPath(), "--tls-ca", pki_->path("ca.pem"), "--tls-cert",
                            pki_->path("client.pem"), "--tls-key", pki_->path("client.key"), "function", "list"},
                           env);
  EXPECT_EQ(listed.exitCode, 0) << listed.err;
  auto noCert = runCommand({testing::surgectlPath(), "--tls-ca", pki_->path("ca.pem"), "function", "list"}, env);
  EXPECT_EQ(noCert.exitCode, 1);
  EXPECT_THAT(noCert.err, HasSubstr("UNAVAILABLE"));
  auto plaintext = runCommand({testing::surgectlPath(), "function", "list"}, env);
  EXPECT_EQ(plaintext.exitCode, 1);
  EXPECT_THAT(plaintext.err, HasSubstr("UNAVAILABLE"));
}

TEST(SurgedTransport, RefusesPlaintextOnANonLoopbackAddressWithoutInsecure) {
  testing::TempDir data;
  // Refused while parsing the flags, before anything is bound.
  auto result =
      runCommand({testing::surgedPath(), "--listen", "0.0.0.0:0", "--data-dir", (data.path() / "d").string()});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.err, HasSubstr("refusing to listen on 0.0.0.0:0 without TLS"));
  EXPECT_THAT(result.err, HasSubstr("--insecure"));
  EXPECT_FALSE(fs::exists(data.path() / "d"));

  result = runCommand({testing::surgedPath(), "--tls-cert", "/etc/hostname"});
  EXPECT_EQ(result.exitCode, 2);
  EXPECT_THAT(result.err, HasSubstr("--tls-key"));
}

} // namespace
} // namespace surge
