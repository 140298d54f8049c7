# Mesh certificates for the Vagrant VMs, made on the Vagrant host when the Vagrantfile is loaded, with
# the OpenSSL library that Vagrant's own Ruby carries (no openssl command needed on the host). They land
# in vagrant/.pki/ (git-ignored and excluded from the rsync synced folder). The Vagrantfile uploads to each VM
# only ca.crt and that VM's own certificate and key; ca.key stays on the Vagrant host.
#
# Same shape as `bumless cert` (src/mesh/cert.ts): one EC P-256 CA; per host an EC P-256 key and a
# certificate whose subject CN and DNS subjectAltName are the host id (the mesh binds a peer's claimed
# host id to them), plus its underlay IP, valid for TLS server and client auth.
#
#   ruby -r ./vagrant/pki.rb -e 'BumlessPki.ensure("/tmp/pki", { "vm1" => "192.168.56.11" })'
require "openssl"
require "fileutils"

module BumlessPki
  CA_DAYS = 3650
  HOST_DAYS = 825

  def self.ec_key
    OpenSSL::PKey::EC.generate("prime256v1")
  end

  def self.write_secret(path, text)
    File.write(path, text)
    File.chmod(0o600, path)
  end

  def self.serial
    OpenSSL::BN.new(OpenSSL::Random.random_bytes(16).unpack1("H*"), 16)
  end

  # An X.509 v3 certificate for public_key, not yet extended or signed; valid from a minute ago (clock skew).
  def self.new_cert(subject, issuer, public_key, days)
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = serial
    cert.subject = subject
    cert.issuer = issuer
    cert.public_key = public_key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + days * 86_400
    cert
  end

  # Creates dir/ca.{crt,key} once, and dir/<id>.{crt,key} for every host that has none.
  # Returns the list of files written.
  def self.ensure(dir, hosts)
    FileUtils.mkdir_p(dir)
    written = []
    ca_crt = File.join(dir, "ca.crt")
    ca_key = File.join(dir, "ca.key")
    unless File.exist?(ca_crt) && File.exist?(ca_key)
      key = ec_key
      name = OpenSSL::X509::Name.parse("/CN=bumless vagrant CA")
      cert = new_cert(name, name, key, CA_DAYS)
      ef = OpenSSL::X509::ExtensionFactory.new(cert, cert)
      cert.add_extension(ef.create_extension("basicConstraints", "CA:TRUE,pathlen:0", true))
      cert.add_extension(ef.create_extension("keyUsage", "keyCertSign,cRLSign", true))
      cert.add_extension(ef.create_extension("subjectKeyIdentifier", "hash", false))
      cert.sign(key, OpenSSL::Digest.new("SHA256"))
      write_secret(ca_key, key.to_pem)
      File.write(ca_crt, cert.to_pem)
      # Host certificates of an older CA would be refused by peers holding the new one.
      hosts.each_key { |id| FileUtils.rm_f([File.join(dir, "#{id}.crt"), File.join(dir, "#{id}.key")]) }
      written += [ca_crt, ca_key]
    end
    ca_cert = OpenSSL::X509::Certificate.new(File.read(ca_crt))
    ca_pkey = OpenSSL::PKey.read(File.read(ca_key))
    hosts.each do |id, ip|
      crt = File.join(dir, "#{id}.crt")
      key_file = File.join(dir, "#{id}.key")
      next if File.exist?(crt) && File.exist?(key_file)
      key = ec_key
      cert = new_cert(OpenSSL::X509::Name.parse("/CN=#{id}"), ca_cert.subject, key, HOST_DAYS)
      ef = OpenSSL::X509::ExtensionFactory.new(ca_cert, cert)
      cert.add_extension(ef.create_extension("basicConstraints", "CA:FALSE", true))
      cert.add_extension(ef.create_extension("keyUsage", "digitalSignature,keyEncipherment", true))
      cert.add_extension(ef.create_extension("extendedKeyUsage", "serverAuth,clientAuth", false))
      cert.add_extension(ef.create_extension("subjectAltName", "DNS:#{id},IP:#{ip}", false))
      cert.add_extension(ef.create_extension("authorityKeyIdentifier", "keyid:always", false))
      cert.sign(ca_pkey, OpenSSL::Digest.new("SHA256"))
      write_secret(key_file, key.to_pem)
      File.write(crt, cert.to_pem)
      written += [crt, key_file]
    end
    written
  end
end
