using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace PersonaGym.Data.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ModelConcurrencyReports : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "ModelConcurrencyReports",
                columns: table => new
                {
                    Model = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    Process = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    Limit = table.Column<int>(type: "integer", nullable: false),
                    Ceiling = table.Column<int>(type: "integer", nullable: false),
                    InFlight = table.Column<int>(type: "integer", nullable: false),
                    Waiting = table.Column<int>(type: "integer", nullable: false),
                    ReportedAt = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_ModelConcurrencyReports", x => new { x.Model, x.Process });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "ModelConcurrencyReports");
        }
    }
}
